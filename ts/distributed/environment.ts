/**
 * Which rank this process is, from its environment, as torchrun and Lightning's
 * SLURM environment read it: fvc's local launcher sets FVC_RANK and its siblings;
 * under `srun` with more than one task each task is a rank (SLURM_PROCID,
 * SLURM_NTASKS, SLURM_LOCALID), and the first node of the job's node list serves the
 * rendezvous. A plain process, or a batch script's single task, is not distributed.
 */
import { FvcError } from '../errors.js';

export interface RankInfo {
  rank: number;
  worldSize: number;
  localRank: number;
  /** Ranks on this node: CPU threads are split between them. */
  localWorldSize: number;
  /** Rank 0's host, which serves the rendezvous store. */
  address: string;
  port: number;
  /** Who started the ranks. */
  launcher: 'fvc' | 'slurm' | 'torchrun';
}

/** The default rendezvous timeout (every collective too): PyTorch's 30 minutes. */
export const DEFAULT_TIMEOUT_SECONDS = 1800;

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  const v = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw.trim()) || v < min || v > max)
    throw new FvcError('ERR_INVALID_ARGUMENT', `${name}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(raw)}`);
  return v;
}

/** A TCP port, refused by the variable's own name (the native reader would only say "port"). */
const port = (env: Env, name: string) => integer(env, name, 1, 65535);

/**
 * The first host of a SLURM host list: `gpu[03-05,07],cpu1` -> `gpu03`. SLURM keeps
 * the leading zeros of a range's width.
 */
export function firstHost(nodeList: string): string {
  const m = /^([^,[\]]+)(?:\[([^\]]+)\])?/.exec(nodeList.trim());
  if (!m?.[1]) throw new FvcError('ERR_INVALID_ARGUMENT', `SLURM_JOB_NODELIST: cannot read a host from ${JSON.stringify(nodeList)}`);
  if (!m[2]) return m[1];
  const first = m[2].split(',')[0]?.split('-')[0] ?? '';
  return m[1] + first;
}

/** A port for the job's rendezvous that every task computes alike: MASTER_PORT, else one derived from the job id. */
function slurmPort(env: Env): number {
  if (env.FVC_MASTER_PORT ?? env.MASTER_PORT) return port(env, env.FVC_MASTER_PORT ? 'FVC_MASTER_PORT' : 'MASTER_PORT');
  const job = Number(env.SLURM_JOB_ID ?? '0');
  // Lightning's rule (10000 + the job id's last four digits), moved above the registered ports' crowd.
  return 20000 + (Number.isFinite(job) ? job % 10000 : 0);
}

/** This process's rank, or null when it is not one of several. */
export function rankFromEnvironment(env: Env = process.env): RankInfo | null {
  if (env.FVC_RANK !== undefined) {
    const worldSize = integer(env, 'FVC_WORLD_SIZE', 1);
    const rank = integer(env, 'FVC_RANK', 0);
    if (rank >= worldSize) throw new FvcError('ERR_INVALID_ARGUMENT', `FVC_RANK: ${rank} is outside 0..${worldSize - 1}`);
    return {
      rank,
      worldSize,
      localRank: env.FVC_LOCAL_RANK === undefined ? rank : integer(env, 'FVC_LOCAL_RANK', 0),
      localWorldSize: env.FVC_LOCAL_WORLD_SIZE === undefined ? worldSize : integer(env, 'FVC_LOCAL_WORLD_SIZE', 1),
      address: env.FVC_MASTER_ADDR ?? '127.0.0.1',
      port: port(env, 'FVC_MASTER_PORT'),
      launcher: 'fvc',
    };
  }
  // srun sets SLURM_STEP_NUM_TASKS for a job step; a batch script's own shell has no step of several tasks.
  if (env.SLURM_PROCID !== undefined && env.SLURM_STEP_NUM_TASKS !== undefined && Number(env.SLURM_STEP_NUM_TASKS) > 1) {
    const worldSize = integer(env, 'SLURM_STEP_NUM_TASKS', 1);
    const nodes = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST;
    if (!nodes) throw new FvcError('ERR_INVALID_ARGUMENT', 'SLURM_JOB_NODELIST: not set, so rank 0 cannot be found');
    const perNode = (env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE ?? '').match(/^\d+/)?.[0];
    return {
      rank: integer(env, 'SLURM_PROCID', 0),
      worldSize,
      localRank: env.SLURM_LOCALID === undefined ? 0 : integer(env, 'SLURM_LOCALID', 0),
      localWorldSize: perNode ? Number(perNode) : worldSize,
      address: env.FVC_MASTER_ADDR ?? env.MASTER_ADDR ?? firstHost(nodes),
      port: slurmPort(env),
      launcher: 'slurm',
    };
  }
  // torchrun's variables, for users who launch fvc with it.
  if (env.RANK !== undefined && env.WORLD_SIZE !== undefined && env.MASTER_ADDR && env.MASTER_PORT && Number(env.WORLD_SIZE) > 1) {
    const worldSize = integer(env, 'WORLD_SIZE', 1);
    return {
      rank: integer(env, 'RANK', 0),
      worldSize,
      localRank: env.LOCAL_RANK === undefined ? 0 : integer(env, 'LOCAL_RANK', 0),
      localWorldSize: env.LOCAL_WORLD_SIZE === undefined ? worldSize : integer(env, 'LOCAL_WORLD_SIZE', 1),
      address: env.MASTER_ADDR,
      port: port(env, 'MASTER_PORT'),
      launcher: 'torchrun',
    };
  }
  return null;
}
