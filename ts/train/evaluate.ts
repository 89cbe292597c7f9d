/**
 * A trained best_model/ scored on a new labelled table (`fvc evaluate`): the same
 * metrics a fold's metadata.json holds, the predictions, and the ROC/PR, confusion
 * and score-distribution plots, so a held-out or another dataset's result reads like
 * the cross-validation's.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { loadMetadata } from '../data/metadata.js';
import { VIDEO_ID } from '../data/video-id.js';
import { groupsOf } from './dataset.js';
import { optionKeys, rejectUnknownOptions } from '../util/options.js';
import { confusionMatrix, predictionDistribution, reliabilityDiagram, rocPrCurves, type Prediction } from '../plots/specs.js';
import { renderPng } from '../plots/render.js';
import { toCsv } from '../util/csv.js';
import { writeFileAtomic } from '../util/fs.js';
import { withOutputLock } from '../util/lock.js';
import { computeMetrics, rocAuc, tprAtFpr, type Metrics } from '../evaluation/metrics.js';
import { bootstrapInterval } from '../evaluation/stats.js';
import { subgroupMetrics, type Subgroup } from '../evaluation/subgroups.js';
import { loadModel, predictVideos, type PredictVideosOptions } from './predict.js';

export interface EvaluateOptions extends PredictVideosOptions {
  /** Where metrics.json, predictions.csv and plots/ go; nothing is written without it. */
  out?: string;
  /** Probability at or above which a video counts as fake (default 0.5, as in training). */
  threshold?: number;
  plots?: boolean;
  /** Metadata columns to break the metrics down by (manipulation, source, ...). */
  by?: readonly string[];
  /** Bootstrap resamples for the intervals of ROC AUC and TPR at FPR 5% (default 1000; 0: none), grouped by source_id where the table has it. */
  bootstrap?: number;
  seed?: number;
}

export interface Evaluation {
  model: string;
  table: string;
  videos: number;
  metrics: Metrics;
  predictions: Array<{ id: string; video: string; label: number; prob: number }>;
  subgroups: Subgroup[];
  /** 95% percentile-bootstrap intervals over videos (whole source groups resampled). */
  intervals: { roc_auc: [number, number] | null; tpr_at_fpr_5: [number, number] | null; resamples: number };
  files: string[];
}

const KEYS = optionKeys<EvaluateOptions>()({
  out: true,
  threshold: true,
  plots: true,
  by: true,
  bootstrap: true,
  seed: true,
  numFrames: true,
  threads: true,
  frameCacheDir: true,
  featuresDir: true,
  device: true,
});

export async function evaluate(modelDir: string, table: string, options: EvaluateOptions = {}): Promise<Evaluation> {
  rejectUnknownOptions('evaluate', options, KEYS);
  const best = loadModel(modelDir);
  const { rows } = await loadMetadata(table);
  const probs = await predictVideos(
    modelDir,
    rows.map((r) => r.absolute_path),
    options,
  );
  const labels = rows.map((r) => r.label);
  const metrics = computeMetrics(
    labels,
    probs.map((p) => p.prob),
    options.threshold ?? 0.5,
  );
  const predictions = rows.map((r, i) => ({ id: r.video_id, video: r.video_path, label: r.label, prob: probs[i]?.prob as number }));
  const groups = subgroupMetrics(
    rows,
    predictions.map((p) => p.prob),
    options.by ?? [],
    options.threshold ?? 0.5,
    table,
  );
  const resamples = options.bootstrap ?? 1000;
  const groupOf = groupsOf(
    rows,
    rows.map((r) => r.video_id),
  );
  const interval = (f: (y: number[], p: number[]) => number | null) => {
    if (!resamples) return null;
    const ci = bootstrapInterval(
      groupOf,
      (idx) =>
        f(
          idx.map((i) => labels[i] as number),
          idx.map((i) => predictions[i]?.prob as number),
        ),
      { n: resamples, seed: options.seed ?? 0 },
    );
    return ci ? ([ci.low, ci.high] as [number, number]) : null;
  };
  const intervals = { roc_auc: interval(rocAuc), tpr_at_fpr_5: interval((y, p) => tprAtFpr(y, p, 0.05)), resamples };
  const result: Evaluation = { model: best.modelType, table: resolve(table), videos: rows.length, metrics, predictions, subgroups: groups, intervals, files: [] };
  if (!options.out) return result;
  const out = resolve(options.out);
  await withOutputLock(out, `fvc evaluate ${best.modelType}`, async () => {
    const metricsFile = join(out, 'metrics.json');
    await writeFileAtomic(
      metricsFile,
      `${JSON.stringify({ model_type: best.modelType, model_dir: resolve(modelDir), table: result.table, videos: rows.length, threshold: options.threshold ?? 0.5, ...metrics, intervals, subgroups: groups }, null, 2)}\n`,
    );
    const predictionsFile = join(out, 'predictions.csv');
    await writeFileAtomic(
      predictionsFile,
      toCsv(
        [VIDEO_ID, 'video_path', 'label', 'prob'],
        predictions.map((p) => ({ [VIDEO_ID]: p.id, video_path: p.video, label: p.label, prob: p.prob })),
      ),
    );
    result.files.push(metricsFile, predictionsFile);
    if (options.plots === false) return;
    await mkdir(join(out, 'plots'), { recursive: true });
    const preds: Prediction[] = predictions.map((p) => ({ fold: 0, id: p.id, label: p.label, prob: p.prob }));
    const title = `${best.modelType} on ${rows.length} videos`;
    const specs = [
      ['roc_pr_curves', rocPrCurves(title, preds, `${title} of ${basename(table)}`)],
      ['confusion_matrix', confusionMatrix(title, preds, options.threshold ?? 0.5)],
      ['prediction_distribution', predictionDistribution(title, preds)],
      ['reliability', reliabilityDiagram(title, preds)],
    ] as const;
    for (const [name, spec] of specs) {
      const file = join(out, 'plots', `${name}.png`);
      await renderPng(spec, file);
      result.files.push(file);
    }
  });
  return result;
}
