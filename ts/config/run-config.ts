/**
 * One run configuration for `fvc train`, `fvc pipeline`, `fvc airflow render` and
 * `fvc slurm render|submit` (like MMAction2's config files and Lightning's CLI
 * config): YAML or JSON, validated field by field, relative paths taken from the
 * file's folder. Command-line flags override it. The pipeline and SLURM jobs pass
 * the file on to `fvc train`, so deep options (epochs, width, frames, weights, ...)
 * reach every model job.
 *
 *   models: [svm, xgboost, i3d]
 *   nSplits: 5
 *   seed: 42
 *   numFrames: 8                 # Stages 2 and 4
 *   dirs: { stage1: data/stage1, stage5: results }
 *   weights: { inception_v3: weights/inception_v3_google.pth }
 *   train:                       # any train() option (see TrainConfigSchema)
 *     device: cuda
 *     deep: { epochs: 10, batchSize: 16 }
 *   resources:                   # SLURM
 *     models: { i3d: { time: "24:00:00" } }
 *   slurm:                       # every job's environment
 *     setup: ["module load cuda/12.4", "source venv/bin/activate"]
 *     wrapper: apptainer exec --nv fvc.sif
 *     shardVideos: 5000          # Stages 1-4 above this many videos: shard arrays + a merge
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FvcError } from '../errors.js';
import { definedOnly } from '../util/object.js';
import { requireRegularFile } from '../util/fs.js';
import { ResourceConfigSchema } from '../slurm/resources.js';
import { configIssues, trainConfigPlaces, TrainConfigSchema } from '../train/config.js';

const SlurmEnvironmentSchema = z.strictObject({
  setup: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  wrapper: z.string().min(1).optional(),
  fvcCommand: z.string().min(1).optional(),
  /** Per-video stages with more videos than this run as an array of shards of about this many, then a merge. */
  shardVideos: z.number().int().min(1).optional(),
});

const Dirs = z.strictObject({ stage1: z.string(), stage2: z.string(), stage3: z.string(), stage4: z.string(), stage5: z.string() }).partial();

export const RunConfigSchema = z.strictObject({
  metadata: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  dirs: Dirs.optional(),
  copies: z.number().int().min(0).max(100).optional(),
  numFrames: z.number().int().min(1).optional(),
  nSplits: z.number().int().min(2).max(100).optional(),
  seed: z.number().int().min(0).optional(),
  weights: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]).optional(),
  randomInit: z.boolean().optional(),
  featuresDir: z.string().min(1).optional(),
  frameCacheDir: z.string().min(1).optional(),
  /** Further train() options; checked against TrainConfigSchema when loaded. */
  train: z.record(z.string(), z.unknown()).optional(),
  resources: ResourceConfigSchema.optional(),
  /** How SLURM jobs prepare their environment: lines run before fvc, a prefix fvc runs under, how jobs call fvc. */
  slurm: SlurmEnvironmentSchema.optional(),
});

export type RunConfig = z.infer<typeof RunConfigSchema> & { /** The file it came from, absolute. */ file: string };

/** Every level of a run configuration and the keys it takes, for "belongs at" and "did you mean". */
const places = (): Record<string, string[]> => ({
  '': Object.keys(RunConfigSchema.shape),
  dirs: Object.keys(Dirs.shape),
  slurm: Object.keys(SlurmEnvironmentSchema.shape),
  ...trainConfigPlaces('train'),
});

export async function loadRunConfig(path: string): Promise<RunConfig> {
  const file = resolve(path);
  let text: string;
  requireRegularFile(file, 'the run configuration');
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FvcError('ERR_FILE_NOT_FOUND', `${file}: cannot read the run configuration (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new FvcError('ERR_INVALID_DATA', `${file}: not YAML or JSON: ${(err as Error).message}`);
  }
  const parsed = RunConfigSchema.safeParse(value ?? {});
  if (!parsed.success) throw new FvcError('ERR_INVALID_ARGUMENT', `${file}: invalid run configuration:\n${configIssues(parsed.error.issues, [], places()).join('\n')}`);
  const c = parsed.data;
  // train: checked now (with placeholder models), so a typo fails before any job is submitted.
  const train = TrainConfigSchema.safeParse({ ...c.train, models: c.models ?? ['svm'] });
  if (!train.success) throw new FvcError('ERR_INVALID_ARGUMENT', `${file}: invalid run configuration:\n${configIssues(train.error.issues, ['train'], places()).join('\n')}`);
  const here = dirname(file);
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(here, p));
  const weights = typeof c.weights === 'string' ? abs(c.weights) : c.weights && Object.fromEntries(Object.entries(c.weights).map(([k, v]) => [k, abs(v) as string]));
  const dirs = c.dirs && Object.fromEntries(Object.entries(c.dirs).map(([k, v]) => [k, abs(v)]));
  const trainPaths: Record<string, unknown> = Object.fromEntries(
    ['outputDir', 'stage2Dir', 'stage3Dir', 'stage4Dir', 'videos', 'featuresDir', 'frameCacheDir', 'trackingUri']
      .filter((k) => typeof c.train?.[k] === 'string' && !(k === 'trackingUri' && /^[a-z]+:/i.test(c.train[k] as string)))
      .map((k) => [k, abs(c.train?.[k] as string)]),
  );
  const features = c.train?.features as { path?: unknown } | undefined;
  if (features && typeof features.path === 'string') trainPaths.features = { ...features, path: abs(features.path) };
  return {
    ...c,
    file,
    ...(c.metadata ? { metadata: abs(c.metadata) as string } : {}),
    ...(dirs ? { dirs } : {}),
    ...(weights ? { weights } : {}),
    ...(c.featuresDir ? { featuresDir: abs(c.featuresDir) as string } : {}),
    ...(c.frameCacheDir ? { frameCacheDir: abs(c.frameCacheDir) as string } : {}),
    ...(c.train ? { train: { ...c.train, ...trainPaths } } : {}),
  };
}

/** The train() options a run configuration stands for (before command-line flags). */
export function trainOptionsOf(c: RunConfig): Record<string, unknown> {
  const t = (c.train ?? {}) as Record<string, unknown> & { deep?: Record<string, unknown> };
  const deep = { ...(t.deep ?? {}), ...(c.weights !== undefined ? { weights: c.weights } : {}), ...(c.randomInit !== undefined ? { randomInit: c.randomInit } : {}) };
  return definedOnly({
    ...t,
    models: c.models,
    nSplits: c.nSplits,
    seed: c.seed,
    stage2Dir: t.stage2Dir ?? c.dirs?.stage2,
    stage3Dir: t.stage3Dir ?? c.dirs?.stage3,
    stage4Dir: t.stage4Dir ?? c.dirs?.stage4,
    outputDir: t.outputDir ?? c.dirs?.stage5,
    featuresDir: c.featuresDir,
    frameCacheDir: c.frameCacheDir,
    ...(Object.keys(deep).length ? { deep } : {}),
  });
}
