#!/usr/bin/env bash
# A one-node SLURM cluster on localhost for the test suite: munged, slurmctld and
# slurmd from Debian's slurm-wlm and munge, run as root with every state, spool,
# log and socket path under one folder, so nothing in /etc or /run is touched.
#
#   scripts/slurm-local.sh start [DIR]   start (or reuse) the cluster; prints SLURM_CONF=...
#   scripts/slurm-local.sh stop  [DIR]   stop the daemons by pid
#   scripts/slurm-local.sh status [DIR]  sinfo of the running cluster
#
# Client commands need SLURM_CONF=DIR/slurm.conf in their environment.
# Settings chosen by trying on Debian 12 / slurm 22.05:
#   batch_sched_delay=0            jobs start at once (otherwise ~3 s each)
#   proctrack/linuxproc, task/none no cgroups (containers rarely allow them)
#   Gres=gpu:1 with File=/dev/null a fake GPU, so scripts that ask for --gpus run
#   kill_invalid_depend            dependents of a failed job are cancelled, not left pending
#   EnforcePartLimits=ALL          impossible requests are rejected at submit
#   accounting_storage/none + jobcomp/filetxt: `sacct -c` without slurmdbd
set -euo pipefail

cmd=${1:-start}
dir=${2:-${FVC_SLURM_DIR:-/tmp/fvc-slurm-$(id -u)}}
ctld_port=${FVC_SLURM_CTLD_PORT:-16817}
slurmd_port=${FVC_SLURM_SLURMD_PORT:-16818}
log() { printf 'slurm-local: %s\n' "$*" >&2; }

stop_pid() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "$cmd" in
  stop)
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/munge/munged.pid"
    log "stopped ($dir)"
    exit 0
    ;;
  status)
    SLURM_CONF="$dir/slurm.conf" sinfo
    exit 0
    ;;
  start) ;;
  *) log "usage: $0 start|stop|status [DIR]"; exit 2 ;;
esac

for b in munged slurmctld slurmd sbatch; do
  command -v "$b" >/dev/null || { log "$b not found: install munge and slurm-wlm (scripts/setup.sh --test)"; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then log "the daemons run as root here; run as root"; exit 1; fi

if running "$dir/slurmctld.pid" && running "$dir/slurmd.pid" && running "$dir/munge/munged.pid"; then
  echo "SLURM_CONF=$dir/slurm.conf"
  exit 0
fi
"$0" stop "$dir" 2>/dev/null || true

mkdir -p "$dir"/{munge,state,spool,log}
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
fi
socket="$dir/munge/munge.socket.2"
munged --force --socket="$socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

host=$(hostname -s)
cpus=$(nproc)
# Leave the OS some memory; requests above this are rejected at submit (EnforcePartLimits).
mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 3 / 4 ))
cat >"$dir/gres.conf" <<EOF
Name=gpu File=/dev/null
EOF
cat >"$dir/slurm.conf" <<EOF
ClusterName=fvc-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
GresTypes=gpu
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MinJobAge=300
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do
  state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in idle|mixed|allocated) break ;; esac
  sleep 0.2
done
if [ "${state:-}" != idle ] && [ "${state:-}" != mixed ] && [ "${state:-}" != allocated ]; then
  log "node did not come up (state: ${state:-none}); logs in $dir/log"
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  exit 1
fi
log "up: $host, $cpus CPUs, ${mem} MB, 1 fake GPU ($dir)"
echo "SLURM_CONF=$SLURM_CONF"
