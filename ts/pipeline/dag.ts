/**
 * The pipeline's stages, their data dependencies and the `fvc` command each runs.
 * The seed draws stages 3 and 4 side by side, but Stage 4 reads Stage 3's table, so
 * the exact graph is stage1 -> stage2, stage1 -> stage3 -> stage4, stage3 -> extract,
 * and stage5 after stage2, stage4 and extract. `extract` computes the deep features
 * that models on a pretrained backbone (5f, 5g, 5h with a weights file) read, once,
 * before any of them trains; it is left out when no requested model needs it. The
 * runner, the Airflow DAG and SLURM chains are all built from this one description.
 */
import { join, resolve } from 'node:path';
import { packageFile } from '../util/package-files.js';
import { FvcError } from '../errors.js';
import { readsSharedExtraction, resolveModel } from '../train/registry.js';

/** The CLI every stage runs: the runner spawns it, SLURM jobs call it by default. */
export const FVC_BIN = packageFile('bin/fvc.js');

export const STAGES = ['stage1', 'stage2', 'stage3', 'stage4', 'extract', 'stage5'] as const;
export type StageName = (typeof STAGES)[number];

export const DEPENDENCIES: Record<StageName, readonly StageName[]> = {
  stage1: [],
  stage2: ['stage1'],
  stage3: ['stage1'],
  stage4: ['stage3'],
  extract: ['stage3'],
  stage5: ['stage2', 'stage4', 'extract'],
};

export const DESCRIPTIONS: Record<StageName, string> = {
  stage1: 'augmentation: reproducible augmented copies of every video',
  stage2: 'handcrafted features of every video (original and augmented)',
  stage3: 'scaling: every video letterboxed to a square and re-encoded',
  stage4: 'handcrafted features of the scaled videos',
  extract: 'deep features of the scaled videos, once per backbone and weights, for the models on a pretrained backbone',
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
  /** Pretrained weights for deep models and backbones: one file, or by architecture / model name. */
  weights?: string | Readonly<Record<string, string>>;
  /** Backbones without a weights file start from seeded random weights (tests, CPU demos). */
  randomInit?: boolean;
  /** Where deep-feature tables go (default FVC_FEATURES_DIR or data/features). */
  featuresDir?: string;
  /** A run configuration file the Stage 5 commands read too (`fvc train --config`): deep options reach every model job. */
  configFile?: string;
  /** Extra flags per stage, appended to its command (the extract stage also gets stage5's: both must load the same data). */
  extraArgs?: Partial<Record<StageName, readonly string[]>>;
}

export const DEFAULT_MODELS = ['logistic_regression', 'svm', 'xgboost'] as const;

/** Every stage's output folder, absolute (extract's is the feature tables' root). */
export function stageDirs(c: PipelineConfig): Record<StageName, string> {
  const env = (n: number) => process.env[`FVC_STAGE${n}_OUTPUT_DIR`];
  const numbered = (s: StageName, n: number) => resolve(c.dirs?.[s] ?? env(n) ?? join('data', s));
  return {
    stage1: numbered('stage1', 1),
    stage2: numbered('stage2', 2),
    stage3: numbered('stage3', 3),
    stage4: numbered('stage4', 4),
    extract: resolve(c.featuresDir ?? c.dirs?.extract ?? (process.env.FVC_FEATURES_DIR || join('data', 'features'))),
    stage5: numbered('stage5', 5),
  };
}

/** The requested models that read deep features extracted once for every fold, grouped by backbone (feature-set suffixes dropped). */
export function extractionsByBackbone(c: PipelineConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const requested of c.models ?? DEFAULT_MODELS) {
    const { spec } = resolveModel(requested, 'stage2');
    if (!spec.backbone || !readsSharedExtraction(spec, c.weights)) continue;
    const names = out.get(spec.backbone) ?? [];
    if (!names.includes(spec.name)) names.push(spec.name);
    out.set(spec.backbone, names);
  }
  return out;
}

/** The stages that have work for this configuration: extract only when a model reads shared deep features. */
export function activeStages(c: PipelineConfig, stages: readonly StageName[] = STAGES): StageName[] {
  return topologicalOrder(stages).filter((s) => s !== 'extract' || extractionsByBackbone(c).size > 0);
}

/** The flags Stage 5 and the extraction share: the same run configuration, weights, initialisation and feature tables. */
export function deepArgs(c: PipelineConfig): string[] {
  const w = c.weights;
  const weights =
    w === undefined
      ? []
      : [
          '--weights',
          typeof w === 'string'
            ? resolve(w)
            : Object.entries(w)
                .map(([k, f]) => `${k}=${resolve(f)}`)
                .join(','),
        ];
  return [...(c.configFile ? ['--config', resolve(c.configFile)] : []), ...weights, ...(c.randomInit ? ['--random-init'] : []), ...(c.featuresDir ? ['--features-dir', resolve(c.featuresDir)] : [])];
}

/** The arguments of `fvc train` for these models: the Stage 5 command, and with `--only extract` the extraction's. */
export function trainArgs(c: PipelineConfig, models: readonly string[]): string[] {
  const d = stageDirs(c);
  const seed = c.seed !== undefined ? ['--seed', String(c.seed)] : [];
  return [
    'train',
    '--models',
    models.join(','),
    '--stage2-dir',
    d.stage2,
    '--stage3-dir',
    d.stage3,
    '--stage4-dir',
    d.stage4,
    '--output-dir',
    d.stage5,
    ...(c.nSplits !== undefined ? ['--n-splits', String(c.nSplits)] : []),
    ...seed,
    ...deepArgs(c),
  ];
}

/** The `fvc` arguments of a stage. */
export function stageArgs(stage: StageName, c: PipelineConfig): string[] {
  if (stage === 'stage1' && !c.metadata) throw new FvcError('ERR_INVALID_ARGUMENT', 'stage1 needs the input video table (--metadata)');
  const d = stageDirs(c);
  const frames = c.numFrames !== undefined ? ['--num-frames', String(c.numFrames)] : [];
  const seed = c.seed !== undefined ? ['--seed', String(c.seed)] : [];
  const extracted = [...extractionsByBackbone(c).values()].flat();
  const base: Record<StageName, string[]> = {
    stage1: ['stage1', '--metadata', resolve(c.metadata ?? ''), '--out', d.stage1, ...(c.copies !== undefined ? ['--copies', String(c.copies)] : []), ...seed],
    stage2: ['stage2', '--metadata', join(d.stage1, 'augmented_metadata.parquet'), '--out', d.stage2, ...frames],
    stage3: ['stage3', '--metadata', join(d.stage1, 'augmented_metadata.parquet'), '--out', d.stage3],
    stage4: ['stage4', '--metadata', join(d.stage3, 'scaled_metadata.parquet'), '--out', d.stage4, ...frames],
    extract: [...trainArgs(c, extracted), '--only', 'extract', ...(c.extraArgs?.stage5 ?? [])],
    stage5: trainArgs(c, c.models ?? DEFAULT_MODELS),
  };
  return [...base[stage], ...(c.extraArgs?.[stage] ?? [])];
}

/** The stages to run for a requested subset: each one listed, in dependency order. */
export function topologicalOrder(stages: readonly StageName[] = STAGES): StageName[] {
  return STAGES.filter((s) => stages.includes(s));
}
