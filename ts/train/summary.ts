/**
 * A model's results over its folds: the thresholds chosen on other folds, mean and
 * standard deviation of every metric, the best fold by the selection metric, and
 * what the seed writes for it (metrics.json, grid_search.json, best_model/), closing
 * the model's MLflow run.
 */
import { join } from 'node:path';
import { foldDir } from '../evaluation/fold-layout.js';
import { computeMetrics, youdenThreshold } from '../evaluation/metrics.js';
import type { CrossValidationTracking } from '../tracking/mlflow.js';
import { writeFileAtomic } from '../util/fs.js';
import { executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { exportFoldModel } from './best-model.js';
import type { TrainConfig } from './config.js';
import type { FoldResult } from './events.js';
import { foldPredictionColumns } from './fold-records.js';
import { meanStd, type GridOutcome } from './grid-search.js';
import type { ResolvedModel } from './model.js';
import type { GridValue } from './spec.js';

export interface ModelSummary {
  modelType: string;
  dir: string;
  folds: FoldResult[];
  failedFolds: Array<{ fold: number; message: string }>;
  bestParams: Record<string, GridValue>;
  bestFold: number | null;
  mean: Record<string, number>;
  std: Record<string, number>;
  seconds: number;
}

/**
 * Each fold's metrics at a threshold chosen without its own videos: Youden's J on the
 * pooled out-of-fold predictions of the other folds (`val_threshold`, then accuracy,
 * F1, precision and recall `_at_threshold`), beside the fixed-0.5 ones.
 */
export function addChosenThresholds(dir: string, rows: FoldResult[]): void {
  const preds = new Map(rows.map((r) => [r.fold, foldPredictionColumns(foldDir(dir, r.fold))]));
  if (rows.length < 2) return;
  for (const r of rows) {
    const others = rows.filter((o) => o.fold !== r.fold).map((o) => preds.get(o.fold) as { labels: number[]; probs: number[] });
    const threshold = youdenThreshold(
      others.flatMap((o) => o.labels),
      others.flatMap((o) => o.probs),
    );
    const own = preds.get(r.fold);
    if (threshold === null || !own?.labels.length) continue;
    const m = computeMetrics(own.labels, own.probs, threshold);
    Object.assign(r, { val_threshold: threshold, val_acc_at_threshold: m.accuracy, val_f1_at_threshold: m.f1, val_precision_at_threshold: m.precision, val_recall_at_threshold: m.recall });
  }
}

/** Mean and standard deviation over folds of every numeric metric, and the same as metrics.json's mean_/std_ fields. */
export function foldStatistics(rows: FoldResult[]): { mean: Record<string, number>; std: Record<string, number>; fields: Record<string, number> } {
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const fields: Record<string, number> = {};
  for (const k of Object.keys(rows[0] ?? {}).filter((k) => k !== 'fold')) {
    const vals = rows.map((r) => r[k]).filter((v): v is number => typeof v === 'number');
    if (!vals.length) continue;
    const [m, s] = meanStd(vals);
    mean[k] = m;
    std[k] = s;
    fields[`mean_${k}`] = m;
    fields[`std_${k}`] = s;
  }
  return { mean, std, fields };
}

/** The model's summary after its folds: files written, best fold exported, tracking closed, time recorded. */
export async function summariseModel(o: {
  dir: string;
  model: ResolvedModel;
  cfg: TrainConfig;
  rows: FoldResult[];
  failedFolds: Array<{ fold: number; message: string }>;
  search: GridOutcome;
  totalFolds: number;
  tracking: CrossValidationTracking | null;
  started: number;
  log: (m: string) => void;
}): Promise<ModelSummary> {
  const { dir, model, cfg, rows, failedFolds, tracking } = o;
  const { best, results, fingerprint } = o.search;
  addChosenThresholds(dir, rows);
  const { mean, std, fields } = foldStatistics(rows);
  const summary: Record<string, unknown> = { model_type: model.modelType, model_id: model.spec.id, n_splits: cfg.nSplits, feature_set: model.featureSet, fold_results: rows, ...fields };
  const selectKey = { f1: 'val_f1', accuracy: 'val_acc', roc_auc: 'val_auc', average_precision: 'val_ap' }[cfg.selectionMetric];
  const bestRow = rows.reduce<FoldResult | undefined>((b, r) => (!b || ((r[selectKey] ?? -1) as number) > ((b[selectKey] ?? -1) as number) ? r : b), undefined);
  const bestFold = bestRow?.fold ?? null;
  Object.assign(summary, { best_fold: bestFold, best_params: best, selection_metric: cfg.selectionMetric, hyperparameter_search: results, failed_folds: failedFolds });
  await writeFileAtomic(join(dir, 'grid_search.json'), `${JSON.stringify({ selection_metric: cfg.selectionMetric, results, best_params: best, fingerprint }, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (bestFold !== null) await exportFoldModel(foldDir(dir, bestFold), join(dir, 'best_model'), model);
  await tracking?.finish(fields, [join(dir, 'metrics.json'), join(dir, 'grid_search.json')], rows.length ? 'FINISHED' : 'FAILED');
  const seconds = (performance.now() - o.started) / 1000;
  await recordTiming(cfg.outputDir, { stage: 'stage5', model_type: model.modelType, seconds, status: failedFolds.length ? 'failed' : 'ok', items: rows.length });
  o.log(
    `${model.modelType}: ${rows.length}/${o.totalFolds} folds, mean val_f1 ${mean.val_f1?.toFixed(4) ?? 'n/a'} ± ${std.val_f1?.toFixed(4) ?? 'n/a'}, best fold ${bestFold ?? 'none'}; ${executionTimeLine(seconds)}`,
  );
  return { modelType: model.modelType, dir, folds: rows, failedFolds, bestParams: best, bestFold, mean, std, seconds };
}
