#!/usr/bin/env bash
# fvc submission "{{SUBMISSION}}": the coordinator. Submits every job in scripts/ in
# dependency order, chaining them with --dependency, and records each job id in
# jobs.tsv beside this file (`fvc slurm status` and `fvc slurm cancel` read it).
# `fvc slurm submit` runs this file; it can also be run by hand on a login node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p {{LOG_DIRS}}
rm -f "$here/jobs.tsv"
: >"$here/jobs.tsv.partial"

# submit NAME DEPENDENCY: sbatch scripts/NAME.sbatch; its id becomes $JOB_NAME.
submit() {
  local name=$1 dependency=$2 script="$here/scripts/$1.sbatch" out err id
  err=$(mktemp)
  if ! out=$(sbatch --parsable ${dependency:+"--dependency=$dependency"} "$script" 2>"$err"); then
    echo "sbatch rejected $script: $(tr '\n' ' ' <"$err")" >&2
    rm -f "$err"
    exit 1
  fi
  rm -f "$err"
  id=${out%%;*}
  printf '%s\t%s\n' "$name" "$id" >>"$here/jobs.tsv.partial"
  printf -v "JOB_${name//[^A-Za-z0-9]/_}" '%s' "$id"
  echo "submitted $name: job $id"
}

{{SUBMITS}}

mv "$here/jobs.tsv.partial" "$here/jobs.tsv"
