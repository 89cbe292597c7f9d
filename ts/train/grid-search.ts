/**
 * Choosing a model's hyper-parameters: every grid point cross-validated on the run's
 * folds and scored by the selection metric, the result kept in grid_search.json so a
 * resumed run, each fold-array task and the aggregation job agree without searching
 * again. Also one fold's fit and scoring, which training shares.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { computeMetrics, type Metrics } from '../evaluation/metrics.js';
import { FvcError } from '../errors.js';
import { tempName, writeFileAtomic } from '../util/fs.js';
import { createProgress } from '../util/progress.js';
import type { BatchProgress, EpochRow } from '../deep/train.js';
import type { TrainConfig } from './config.js';
import type { FeatureData } from './dataset.js';
import type { TrainEvent } from './events.js';
import type { Fold } from './folds.js';
import type { FoldFit, ResolvedModel } from './model.js';
import { gridPoints, type GridValue } from './catalogue.js';

export const SELECT: Record<TrainConfig['selectionMetric'], keyof Metrics> = { f1: 'f1', accuracy: 'accuracy', roc_auc: 'roc_auc', average_precision: 'average_precision' };

export function meanStd(values: number[]): [number, number] {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return [m, Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length)];
}

/** train()'s hooks as the engine passes them down: the caller's signal, and events out. */
export interface Run {
  signal?: AbortSignal;
  emit: (e: TrainEvent) => void;
}

/** Stops between folds and models when the caller aborted. */
export function checkAborted(run: Run, where: string): void {
  if (run.signal?.aborted) throw new FvcError('ERR_ABORTED', `training cancelled ${where}`);
}

export interface Evaluated {
  fitted: FoldFit;
  labels: number[];
  metrics: Metrics;
}

/** What a fit reports while it runs, besides its log. */
export interface FitHooks {
  signal?: AbortSignal;
  onEpoch?: (e: EpochRow) => void;
  onBatch?: (b: BatchProgress) => void;
}

export async function evaluate(
  model: ResolvedModel,
  params: Record<string, GridValue>,
  data: FeatureData,
  fold: Fold,
  dir: string,
  cfg: TrainConfig,
  log: (m: string) => void,
  hooks: FitHooks = {},
): Promise<Evaluated> {
  const labels = fold.val.map((i) => data.labels[i] as number);
  const fitted = await model.impl.fit({ model, params, data, fold, dir, cfg, log, ...hooks });
  return { fitted, labels, metrics: computeMetrics(labels, fitted.probs) };
}

export interface GridOutcome {
  best: Record<string, GridValue>;
  results: Array<Record<string, unknown>>;
  fingerprint: string;
}

/**
 * The grid search, or its earlier result when grid_search.json was written for the
 * same grid, data, folds and metric: a resumed run, each task of a fold array and
 * the aggregation job all agree on the parameters without searching again.
 */
export async function gridSearch(model: ResolvedModel, data: FeatureData, folds: Fold[], cfg: TrainConfig, dir: string, log: (m: string) => void, run: Run): Promise<GridOutcome> {
  const grid = cfg.grids[model.spec.name] ?? model.spec.grid;
  const points = gridPoints(grid);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ grid, search: cfg.gridSearch, metric: cfg.selectionMetric, seed: cfg.seed, n: cfg.nSplits, rows: data.rows, source: data.source, features: data.featureNames }))
    .digest('hex')
    .slice(0, 16);
  if (points.length === 1 || !cfg.gridSearch) return { best: points[0] ?? {}, results: [], fingerprint };
  const file = join(dir, 'grid_search.json');
  if (existsSync(file)) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint?: string; best_params: Record<string, GridValue>; results: Array<Record<string, unknown>> };
      if (saved.fingerprint === fingerprint) {
        log(`${model.modelType}: grid search result reused from ${file} -> ${JSON.stringify(saved.best_params)}`);
        return { best: saved.best_params, results: saved.results, fingerprint };
      }
    } catch {
      // An unreadable earlier result is searched again.
    }
  }
  // Fold-array tasks may search at once on a shared file system: scratch space is per process.
  const scratch = tempName(join(dir, 'grid'));
  await mkdir(scratch, { recursive: true });
  const key = SELECT[cfg.selectionMetric];
  const results: Array<Record<string, unknown>> = [];
  const progress = createProgress({ label: `${model.modelType} grid`, total: points.length * folds.length, silent: cfg.quiet });
  try {
    for (const [c, params] of points.entries()) {
      const scores: number[] = [];
      for (const fold of folds) {
        checkAborted(run, `in ${model.modelType}'s grid search`);
        const { metrics } = await evaluate(model, params, data, fold, scratch, cfg, () => undefined, run.signal ? { signal: run.signal } : {});
        scores.push((metrics[key] as number | null) ?? 0);
        progress.tick(`${JSON.stringify(params)} fold ${fold.fold}`);
      }
      const [mean, std] = meanStd(scores);
      results.push({ params, [`mean_${cfg.selectionMetric}`]: mean, [`std_${cfg.selectionMetric}`]: std, fold_scores: scores });
      run.emit({ type: 'grid-candidate', model: model.modelType, candidate: c + 1, candidates: points.length, params, metric: cfg.selectionMetric, mean, std, foldScores: scores });
    }
  } finally {
    progress.done();
    await rm(scratch, { recursive: true, force: true });
  }
  // Highest mean wins; the first listed on ties, so results are reproducible.
  const bestIdx = results.reduce((b, r, i) => ((r[`mean_${cfg.selectionMetric}`] as number) > (results[b]?.[`mean_${cfg.selectionMetric}`] as number) ? i : b), 0);
  const best = (results[bestIdx]?.params ?? {}) as Record<string, GridValue>;
  log(
    `${model.modelType}: grid search over ${points.length} combinations -> ${JSON.stringify(best)} (mean ${cfg.selectionMetric} ${(results[bestIdx]?.[`mean_${cfg.selectionMetric}`] as number).toFixed(4)})`,
  );
  await writeFileAtomic(file, `${JSON.stringify({ selection_metric: cfg.selectionMetric, results, best_params: best, fingerprint }, null, 2)}\n`);
  return { best, results, fingerprint };
}
