/**
 * One model over its folds: the grid search, then each fold in turn (reused when it
 * finished under the same configuration, trained otherwise, a failure recorded and the
 * others going on), events, MLflow and timings, then the summary (ts/train/summary.ts).
 * A task of a fold array trains its folds and stops there.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VIDEO_ID } from '../data/video-id.js';
import { FvcError, isFvcError } from '../errors.js';
import { FOLD_FILES, foldDir, foldLockName } from '../evaluation/fold-layout.js';
import { CrossValidationTracking, NO_FOLD_RUN } from '../tracking/mlflow.js';
import type { TrackingStore } from '../tracking/store.js';
import { emptyLockedDir, withOutputLock } from '../util/lock.js';
import { createProgress } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import type { TrainConfig } from './config.js';
import type { FeatureData } from './dataset.js';
import type { FoldResult } from './events.js';
import { finishedFold, foldFailure, writeFoldError } from './fold-records.js';
import { trainFold } from './fold-training.js';
import type { Fold } from './folds.js';
import { checkAborted, gridSearch, type Run } from './grid-search.js';
import type { ResolvedModel } from './model.js';
import { foldStatistics, summariseModel, type ModelSummary } from './summary.js';

/** A model with its data and folds, checked before any training starts. */
export interface Prepared {
  model: ResolvedModel;
  data: FeatureData;
  folds: Fold[];
}

const foldMetrics = (row: FoldResult) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'fold'));

/**
 * One run per model folder at a time: a whole run or a phase holds the model's lock;
 * the tasks of a fold array, which share the folder by design, each hold their folds'.
 */
export async function trainModel(p: Prepared, cfg: TrainConfig, store: TrackingStore | null, log: (m: string) => void, run: Run): Promise<ModelSummary> {
  const dir = join(cfg.outputDir, p.model.modelType);
  if (cfg.folds !== undefined) return trainModelIn(dir, p, cfg, store, log, run);
  return withOutputLock(dir, `fvc train ${p.model.modelType}${cfg.only ? ` --only ${cfg.only}` : ''}`, () => trainModelIn(dir, p, cfg, store, log, run));
}

async function trainModelIn(dir: string, { model, data, folds }: Prepared, cfg: TrainConfig, store: TrackingStore | null, log: (m: string) => void, run: Run): Promise<ModelSummary> {
  const started = performance.now();
  // One task of a fold array trains its folds and nothing else: deleting, tracking and
  // the summary belong to the grid-search and aggregation phases around the array.
  const foldTask = cfg.folds !== undefined;
  if (cfg.deleteExisting && !foldTask && cfg.only !== 'aggregate') await emptyLockedDir(dir);
  await mkdir(dir, { recursive: true });
  log(`${model.modelType}: ${data.rows} rows x ${data.cols} features from ${data.source}, ${cfg.nSplits} folds${foldTask ? ` (training fold ${cfg.folds?.join(', ')})` : ''}`);
  const wanted = foldTask ? folds.filter((f) => cfg.folds?.includes(f.fold)) : folds;
  // Before the grid search, so its candidates' events belong to a started model.
  run.emit({ type: 'model-start', model: model.modelType, folds: cfg.only === 'grid_search' ? 0 : wanted.length });
  const search = await gridSearch(model, data, folds, cfg, dir, log, run);
  const { best } = search;
  const empty = { modelType: model.modelType, dir, folds: [], failedFolds: [], bestParams: best, bestFold: null, mean: {}, std: {} };
  if (cfg.only === 'grid_search') {
    run.emit({ type: 'model-end', model: model.modelType, trained: 0, failed: 0, seconds: (performance.now() - started) / 1000 });
    return { ...empty, seconds: (performance.now() - started) / 1000 };
  }
  const settings = await model.impl.settings({ model, cfg, log });
  const configHash = createHash('sha256')
    // ids: folds finished before predictions named videos by video_id are trained again, not reused.
    .update(JSON.stringify({ best, seed: cfg.seed, n: cfg.nSplits, features: data.featureNames, rows: data.rows, source: data.source, settings, ids: VIDEO_ID }))
    .digest('hex')
    .slice(0, 16);
  const tracking =
    store && !foldTask
      ? await CrossValidationTracking.start(
          store,
          model.modelType,
          {
            model_type: model.modelType,
            model_id: model.spec.id,
            family: model.spec.family,
            feature_set: model.featureSet,
            n_splits: cfg.nSplits,
            seed: cfg.seed,
            rows: data.rows,
            features: data.cols,
            data_source: data.source,
            selection_metric: cfg.selectionMetric,
            params: best,
          },
          log,
          join(dir, 'mlflow_runs.json'),
        )
      : null;
  const rows: FoldResult[] = [];
  const failedFolds: Array<{ fold: number; message: string }> = [];
  const progress = createProgress({ label: `${model.modelType} folds`, total: wanted.length, silent: cfg.quiet || !process.stderr.isTTY });
  const trainedSeconds: number[] = [];
  // Folds still to train, at the mean time of those trained so far.
  const eta = (left: number) => (trainedSeconds.length ? (left * trainedSeconds.reduce((a, b) => a + b, 0)) / trainedSeconds.length : null);
  const foldEnd = (fold: number, status: 'trained' | 'reused' | 'failed', seconds: number, extra: { metrics?: FoldResult; error?: string }) =>
    run.emit({ type: 'fold-end', model: model.modelType, fold, folds: wanted.length, status, seconds, etaSeconds: eta(wanted.length - wanted.findIndex((f) => f.fold === fold) - 1), ...extra });
  for (const fold of wanted) {
    if (run.signal?.aborted) await tracking?.kill();
    checkAborted(run, `before ${model.modelType} fold ${fold.fold}`);
    const foldPath = foldDir(dir, fold.fold);
    const foldParams = { model_type: model.modelType, fold: fold.fold, seed: cfg.seed, params: best };
    const done = cfg.resume || cfg.only === 'aggregate' ? finishedFold(foldPath, configHash) : null;
    run.emit({ type: 'fold-start', model: model.modelType, fold: fold.fold, folds: wanted.length });
    if (done) {
      rows.push(done.row);
      foldEnd(fold.fold, 'reused', 0, { metrics: done.row });
      log(`${model.modelType}: fold ${fold.fold} already done`);
      await tracking?.fold({
        fold: fold.fold,
        params: foldParams,
        metrics: foldMetrics(done.row),
        artifacts: done.files,
        results: [join(foldPath, FOLD_FILES.predictions)],
        startTime: Date.now(),
        status: 'FINISHED',
      });
      progress.tick();
      continue;
    }
    if (cfg.only === 'aggregate') {
      const message = foldFailure(foldPath);
      failedFolds.push({ fold: fold.fold, message });
      log(`${model.modelType}: fold ${fold.fold} has no result: ${message}`);
      await tracking?.fold({ fold: fold.fold, params: foldParams, metrics: {}, artifacts: [], startTime: Date.now(), status: 'FAILED', error: message });
      foldEnd(fold.fold, 'failed', 0, { error: message });
      progress.tick();
      continue;
    }
    const t = performance.now();
    const startTime = Date.now();
    const foldRun = tracking ? await tracking.startFold(fold.fold, foldParams, startTime) : NO_FOLD_RUN;
    try {
      const { row, files } = await withOutputLock(
        dir,
        `fvc train ${model.modelType} fold ${fold.fold}`,
        () => trainFold(model, best, data, fold, cfg, foldPath, configHash, settings, log, run, foldRun),
        foldLockName(fold.fold),
      );
      rows.push(row);
      trainedSeconds.push((performance.now() - t) / 1000);
      foldEnd(fold.fold, 'trained', (performance.now() - t) / 1000, { metrics: row });
      await recordTiming(cfg.outputDir, {
        stage: 'stage5',
        model_type: model.modelType,
        fold: fold.fold,
        seconds: (performance.now() - t) / 1000,
        status: 'ok',
        items: fold.train.length + fold.val.length,
      });
      await foldRun.end(foldMetrics(row), files, 'FINISHED', undefined, [join(foldPath, FOLD_FILES.predictions)]);
      log(
        `${model.modelType}: fold ${fold.fold}/${folds.length} val_f1 ${row.val_f1.toFixed(4)} val_auc ${row.val_auc?.toFixed(4) ?? 'n/a'} (${((performance.now() - t) / 1000).toFixed(2)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
      );
    } catch (err) {
      // Cancelled, not failed: the fold's checkpoints stay for a rerun, and nothing is recorded as an error.
      if (isFvcError(err, 'ERR_ABORTED')) {
        await foldRun.kill();
        await tracking?.kill();
        throw new FvcError('ERR_ABORTED', `training cancelled during ${model.modelType} fold ${fold.fold}`);
      }
      const e = err as Error;
      failedFolds.push({ fold: fold.fold, message: e.message });
      // A fold another run holds is that run's to write: no error.json over its work.
      if (!isFvcError(err, 'ERR_LOCKED')) await writeFoldError(foldPath, e, { model_type: model.modelType, params: best, fold: fold.fold, seed: cfg.seed });
      log(`${model.modelType}: fold ${fold.fold} failed: ${e.message}`);
      await foldRun.end({}, [], 'FAILED', e.message);
      await recordTiming(cfg.outputDir, { stage: 'stage5', model_type: model.modelType, fold: fold.fold, seconds: (performance.now() - t) / 1000, status: 'failed' });
      foldEnd(fold.fold, 'failed', (performance.now() - t) / 1000, { error: e.message });
    }
    progress.tick(`fold ${fold.fold}`);
  }
  progress.done(`${rows.length}/${wanted.length} folds`);
  run.emit({ type: 'model-end', model: model.modelType, trained: rows.length, failed: failedFolds.length, seconds: (performance.now() - started) / 1000 });
  if (foldTask) {
    const { mean, std } = foldStatistics(rows);
    return { ...empty, folds: rows, failedFolds, mean, std, seconds: (performance.now() - started) / 1000 };
  }
  return summariseModel({ dir, model, cfg, rows, failedFolds, search, totalFolds: folds.length, tracking, started, log });
}
