/**
 * A trained best_model/ scored on a new labelled table (`fvc evaluate`): the same
 * metrics a fold's metadata.json holds, the predictions, and the ROC/PR, confusion
 * and score-distribution plots, so a held-out or another dataset's result reads like
 * the cross-validation's.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { loadMetadata } from '../data/metadata.js';
import { confusionMatrix, predictionDistribution, rocPrCurves, type Prediction } from '../plots/specs.js';
import { renderPng } from '../plots/render.js';
import { toCsv } from '../util/csv.js';
import { writeFileAtomic } from '../util/fs.js';
import { withOutputLock } from '../util/lock.js';
import { computeMetrics, type Metrics } from './metrics.js';
import { loadModel, predictVideos, type PredictVideosOptions } from './predict.js';

export interface EvaluateOptions extends PredictVideosOptions {
  /** Where metrics.json, predictions.csv and plots/ go; nothing is written without it. */
  out?: string;
  /** Probability at or above which a video counts as fake (default 0.5, as in training). */
  threshold?: number;
  plots?: boolean;
}

export interface Evaluation {
  model: string;
  table: string;
  videos: number;
  metrics: Metrics;
  predictions: Array<{ video: string; label: number; prob: number }>;
  files: string[];
}

export async function evaluate(modelDir: string, table: string, options: EvaluateOptions = {}): Promise<Evaluation> {
  const best = loadModel(modelDir);
  const { rows } = await loadMetadata(table);
  const probs = await predictVideos(modelDir, rows.map((r) => r.absolute_path), options);
  const labels = rows.map((r) => r.label);
  const metrics = computeMetrics(labels, probs.map((p) => p.prob), options.threshold ?? 0.5);
  const predictions = rows.map((r, i) => ({ video: r.video_path, label: r.label, prob: probs[i]?.prob as number }));
  const result: Evaluation = { model: best.modelType, table: resolve(table), videos: rows.length, metrics, predictions, files: [] };
  if (!options.out) return result;
  const out = resolve(options.out);
  await withOutputLock(out, `fvc evaluate ${best.modelType}`, async () => {
    const metricsFile = join(out, 'metrics.json');
    await writeFileAtomic(metricsFile, `${JSON.stringify({ model_type: best.modelType, model_dir: resolve(modelDir), table: result.table, videos: rows.length, threshold: options.threshold ?? 0.5, ...metrics }, null, 2)}\n`);
    const predictionsFile = join(out, 'predictions.csv');
    await writeFileAtomic(predictionsFile, toCsv(['id', 'label', 'prob'], predictions.map((p) => ({ id: p.video, label: p.label, prob: p.prob }))));
    result.files.push(metricsFile, predictionsFile);
    if (options.plots === false) return;
    await mkdir(join(out, 'plots'), { recursive: true });
    const preds: Prediction[] = predictions.map((p) => ({ fold: 0, id: p.video, label: p.label, prob: p.prob }));
    const title = `${best.modelType} on ${rows.length} videos`;
    const specs = [
      ['roc_pr_curves', rocPrCurves(title, preds, `${title} of ${basename(table)}`)],
      ['confusion_matrix', confusionMatrix(title, preds, options.threshold ?? 0.5)],
      ['prediction_distribution', predictionDistribution(title, preds)],
    ] as const;
    for (const [name, spec] of specs) {
      const file = join(out, 'plots', `${name}.png`);
      await renderPng(spec, file);
      result.files.push(file);
    }
  });
  return result;
}
