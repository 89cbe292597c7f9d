/**
 * The pipeline's stages, their data dependencies and the `fvc` command each runs.
 * The seed draws stages 3 and 4 side by side, but Stage 4 reads Stage 3's table, so
 * the exact graph is stage1 -> stage2, stage1 -> stage3 -> stage4, and stage5 after
 * stage2 and stage4. The runner, the Airflow DAG and SLURM chains are all built
 * from this one description.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FvcError } from '../errors.js';

/** The CLI every stage runs: the runner spawns it, SLURM jobs call it by default. */
export const FVC_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'fvc.js');

export const STAGES = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5'] as const;
export type StageName = (typeof STAGES)[number];

export const DEPENDENCIES: Record<StageName, readonly StageName[]> = {
  stage1: [],
  stage2: ['stage1'],
  stage3: ['stage1'],
  stage4: ['stage3'],
  stage5: ['stage2', 'stage4'],
};

export const DESCRIPTIONS: Record<StageName, string> = {
  stage1: 'augmentation: reproducible augmented copies of every video',
  stage2: 'handcrafted features of every video (original and augmented)',
  stage3: 'scaling: every video letterboxed to a square and re-encoded',
  stage4: 'handcrafted features of the scaled videos',
  stage5: 'k-fold training with grid search of the chosen models',
};

export interface PipelineConfig {
  /** The input video table (Stage 1 reads it; needed only when Stage 1 runs). */
  metadata?: string;
  /** Stage output folders; default the seed's variables, else data/stageN. */
  dirs?: Partial<Record<StageName, string>>;
  /** Stage 5 models (default: every feature-based model that is built). */
  models?: readonly string[];
  copies?: number;
  numFrames?: number;
  nSplits?: number;
  seed?: number;
  /** Extra flags per stage, appended to its command. */
  extraArgs?: Partial<Record<StageName, readonly string[]>>;
}

export const DEFAULT_MODELS = ['logistic_regression', 'svm', 'xgboost'] as const;

/** Every stage's output folder, absolute. */
export function stageDirs(c: PipelineConfig): Record<StageName, string> {
  const env = (n: number) => process.env[`FVC_STAGE${n}_OUTPUT_DIR`];
  return Object.fromEntries(STAGES.map((s, i) => [s, resolve(c.dirs?.[s] ?? env(i + 1) ?? join('data', s))])) as Record<StageName, string>;
}

/** The `fvc` arguments of a stage. */
export function stageArgs(stage: StageName, c: PipelineConfig): string[] {
  if (stage === 'stage1' && !c.metadata) throw new FvcError('ERR_INVALID_ARGUMENT', 'stage1 needs the input video table (--metadata)');
  const d = stageDirs(c);
  const frames = c.numFrames !== undefined ? ['--num-frames', String(c.numFrames)] : [];
  const seed = c.seed !== undefined ? ['--seed', String(c.seed)] : [];
  const base: Record<StageName, string[]> = {
    stage1: ['stage1', '--metadata', resolve(c.metadata ?? ''), '--out', d.stage1, ...(c.copies !== undefined ? ['--copies', String(c.copies)] : []), ...seed],
    stage2: ['stage2', '--metadata', join(d.stage1, 'augmented_metadata.parquet'), '--out', d.stage2, ...frames],
    stage3: ['stage3', '--metadata', join(d.stage1, 'augmented_metadata.parquet'), '--out', d.stage3],
    stage4: ['stage4', '--metadata', join(d.stage3, 'scaled_metadata.parquet'), '--out', d.stage4, ...frames],
    stage5: ['train', '--models', (c.models ?? DEFAULT_MODELS).join(','), '--stage2-dir', d.stage2, '--stage4-dir', d.stage4, '--output-dir', d.stage5, ...(c.nSplits !== undefined ? ['--n-splits', String(c.nSplits)] : []), ...seed],
  };
  return [...base[stage], ...(c.extraArgs?.[stage] ?? [])];
}

/** The stages to run for a requested subset: each one listed, in dependency order. */
export function topologicalOrder(stages: readonly StageName[] = STAGES): StageName[] {
  return STAGES.filter((s) => stages.includes(s));
}
