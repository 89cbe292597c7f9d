/**
 * What each SLURM job asks for. Model jobs default to the seed's request (one GPU,
 * 64G, 4 CPUs, 8 hours on partition `gpu`); data stages ask for no GPU. The seed's
 * account was a course allocation, so no account is asked for unless configured.
 * Overrides layer: defaults < `all` < `stages` or `models['*']` < `models[name or id]`.
 */
import { requireRegularFile } from '../util/fs.js';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FvcError } from '../errors.js';
import { definedOnly } from '../util/object.js';

const Resources = z
  .object({
    /** GPUs per node; above 1 (or with nodes above 1) a model trains data-parallel, one rank per GPU. */
    gpus: z.number().int().min(0),
    /** Nodes of a data-parallel model job. */
    nodes: z.number().int().min(1),
    /** Ranks per node of a data-parallel job; default: one per GPU (CPU ranks need it set). */
    'ntasks-per-node': z.number().int().min(1),
    mem: z.string().regex(/^\d+[KMGT]?$/, 'expected a size such as 64G or 16000M'),
    'cpus-per-task': z.number().int().min(1),
    time: z.string().regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'expected a SLURM time such as 8:00:00 or 1-12:00:00'),
    partition: z.string().regex(/^[\w.,-]+$/, 'expected a partition name'),
    account: z.string().regex(/^[\w.-]+$/, 'expected an account name'),
  })
  .partial()
  .strict();

export type JobResources = z.infer<typeof Resources>;

export const ResourceConfigSchema = z
  .object({
    all: Resources.optional(),
    stages: Resources.optional(),
    /** Keyed by model name or id (`xgboost`, `5beta`); `*` for every model. */
    models: z.record(z.string(), Resources).optional(),
  })
  .strict();

export type ResourceConfig = z.infer<typeof ResourceConfigSchema>;

export const MODEL_DEFAULTS: JobResources = { partition: 'gpu', gpus: 1, mem: '64G', 'cpus-per-task': 4, time: '8:00:00' };
export const STAGE_DEFAULTS: JobResources = { gpus: 0, mem: '16G', 'cpus-per-task': 4, time: '4:00:00' };

const defined = (r: JobResources | undefined): JobResources => definedOnly(r ?? {});

/** A data stage's resources. */
export function stageResources(cfg: ResourceConfig = {}): JobResources {
  return { ...STAGE_DEFAULTS, ...defined(cfg.all), ...defined(cfg.stages) };
}

/** A model's resources; `keys` are its names (model type, name, id). */
export function modelResources(keys: readonly string[], cfg: ResourceConfig = {}): JobResources {
  const own = keys
    .map((k) => cfg.models?.[k])
    .filter(Boolean)
    .reverse();
  return Object.assign({ ...MODEL_DEFAULTS, ...defined(cfg.all), ...defined(cfg.models?.['*']) }, ...own.map(defined));
}

/**
 * A data-parallel job's shape: its nodes and ranks per node (one per GPU unless set),
 * or null for a job of one process.
 */
export function dataParallel(r: JobResources): { nodes: number; ranksPerNode: number } | null {
  const nodes = r.nodes ?? 1;
  const ranksPerNode = r['ntasks-per-node'] ?? Math.max(1, r.gpus ?? 0);
  return nodes > 1 || ranksPerNode > 1 ? { nodes, ranksPerNode } : null;
}

/** The job's resources without the data-parallel shape: for its single-process jobs (grid search, aggregation). */
export function singleProcess(r: JobResources): JobResources {
  const { nodes: _n, 'ntasks-per-node': _t, ...rest } = r;
  return dataParallel(r) && rest.gpus ? { ...rest, gpus: 1 } : rest;
}

/**
 * `#SBATCH` lines for the request; a GPU count of 0 asks for none. A data-parallel job
 * asks for its nodes, a task per rank and a GPU per task (srun binds each to its own).
 */
export function sbatchResourceLines(r: JobResources): string[] {
  const lines: string[] = [];
  if (r.account) lines.push(`--account=${r.account}`);
  if (r.partition) lines.push(`--partition=${r.partition}`);
  const ranks = dataParallel(r);
  if (ranks) {
    lines.push(`--nodes=${ranks.nodes}`, `--ntasks-per-node=${ranks.ranksPerNode}`);
    if (r.gpus) lines.push('--gpus-per-task=1');
  } else if (r.gpus) lines.push(`--gpus=${r.gpus}`);
  if (r.mem) lines.push(`--mem=${r.mem}`);
  if (r['cpus-per-task']) lines.push(`--cpus-per-task=${r['cpus-per-task']}`);
  if (r.time) lines.push(`--time=${r.time}`);
  return lines;
}

/** Checks a resource configuration given in code or read from a file; errors name the field. */
export function parseResourceConfig(value: unknown, source = 'resources'): ResourceConfig {
  const parsed = ResourceConfigSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new FvcError('ERR_INVALID_ARGUMENT', `${source}: invalid SLURM resources:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A YAML or JSON file of resource overrides. */
export async function loadResourceConfig(path: string): Promise<ResourceConfig> {
  let text: string;
  requireRegularFile(path, 'the SLURM resources file');
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: cannot read the SLURM resources file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new FvcError('ERR_INVALID_DATA', `${path}: not YAML or JSON: ${(err as Error).message}`);
  }
  return parseResourceConfig(value, path);
}
