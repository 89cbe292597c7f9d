/**
 * The whole job on a generated corpus: corpus -> the pipeline (Stage 1
 * augmentation, Stages 2-4, Stage 5 training) -> the model summary table and the
 * HTML report. Every stage skips finished work, so a second run is quick.
 */
import { join, resolve } from 'node:path';
import type { QueryResult } from './analytics/analytics.js';
import { generateCorpus } from './corpus/generate.js';
import { FvcError } from './errors.js';
import { STAGES } from './pipeline/dag.js';
import { runPipeline, type PipelineResult } from './pipeline/runner.js';
import { buildReport } from './report/report.js';
import { chanceVerdicts, type ChanceVerdict } from './evaluation/chance.js';
import { executionTimeLine } from './util/progress.js';

export interface DemoOptions {
  out: string;
  videos?: number;
  seed?: number;
  /** Frames per clip of Stages 2 and 4 (default 8), and given, of the deep models (else their presets). */
  frames?: number;
  /** Stage 5 models (default DEMO_MODELS). */
  models?: string[];
  /** Epochs of the deep models (default DEMO_EPOCHS). */
  epochs?: number;
}

/**
 * The feature models and one small deep model, all trainable on a CPU: trace_cnn (11k
 * parameters), which reads the corpus's traces where they are, in Stage 1's videos at
 * their own size. naive_cnn and the seed's other deep models sat at chance here.
 */
export const DEMO_MODELS = ['logistic_regression', 'svm', 'xgboost', 'trace_cnn'] as const;

/**
 * How the demo trains its deep model, on Stage 1's table (Stage 3's letterboxed,
 * re-encoded squares have lost most of the traces): 20 epochs (12 scored out-of-fold
 * 0.650, 20 0.705), batches of 8, a learning rate of 3e-3 for every layer (trained from
 * scratch, nothing pretrained to protect), clipping off in effect, and no early stop
 * before the cosine schedule has run down.
 */
export const DEMO_EPOCHS = 20;
const DEMO_DEEP_FLAGS = ['--batch-size', '8', '--lr-head', '3e-3', '--max-grad-norm', '1000'];

export interface DemoSummary {
  clips: number;
  /** Per trained model: out-of-fold AUC, its interval, and whether it is at chance. */
  chance: ChanceVerdict[];
  pipeline: PipelineResult;
  summary: QueryResult;
  report: string;
  seconds: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const out = resolve(o.out);
  const corpus = await generateCorpus({ out: join(out, 'corpus'), videos: o.videos ?? 200, seed: o.seed ?? 1 });
  const dirs = Object.fromEntries(STAGES.map((s) => [s, join(out, 'data', s)]));
  const pipeline = await runPipeline({
    metadata: corpus.metadataPath,
    dirs,
    copies: 1,
    numFrames: o.frames ?? 8,
    seed: o.seed ?? 1,
    models: o.models ?? [...DEMO_MODELS],
    logsDir: join(out, 'logs'),
    // The demo's MLflow store lives with its other outputs.
    extraArgs: {
      stage5: [
        '--tracking-uri',
        join(out, 'mlruns'),
        // Its frames live with its other outputs too, not in whatever folder it was started from.
        '--frame-cache-dir',
        process.env.FVC_FRAME_CACHE_DIR || join(out, 'data', 'cache', 'frames'),
        '--videos',
        join(dirs.stage1 as string, 'augmented_metadata.parquet'),
        '--epochs',
        String(o.epochs ?? DEMO_EPOCHS),
        '--patience',
        String(o.epochs ?? DEMO_EPOCHS),
        ...(o.frames !== undefined ? ['--num-frames', String(o.frames)] : []),
        ...DEMO_DEEP_FLAGS,
      ],
    },
  });
  // Stage 5 never ran when an earlier stage failed: say which, not a missing report folder.
  if (!pipeline.stages.some((st) => st.stage === 'stage5' && st.status === 'ok')) {
    const failed = pipeline.stages.filter((st) => st.status === 'failed');
    throw new FvcError(
      'ERR_TOOL_FAILED',
      `demo: no model was trained: ${failed.map((st) => `${st.stage} failed (log: ${st.log})`).join('; ') || 'stage5 did not run'}; fix the cause and run the demo again (finished stages are kept)`,
    );
  }
  const report = await buildReport({ stage5Dir: dirs.stage5, stage1Dir: dirs.stage1, stage2Dir: dirs.stage2, stage3Dir: dirs.stage3, stage4Dir: dirs.stage4 });
  // Every model folder with finished folds: a mean AUC near 0.5 is said to be chance, not shown as a result.
  const chance = chanceVerdicts(dirs.stage5 as string);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`demo: ${executionTimeLine(seconds)}\n`);
  return { clips: corpus.clips.length, chance, pipeline, summary: report.summary, report: report.output, seconds };
}
