/**
 * The Stage 5 engine: per model, folds from the data, a grid search by
 * cross-validation, then the final k-fold run with the best parameters, in the
 * seed's layout:
 *
 *   {output}/{model}/fold_{N}/  model file, scaler.json, predictions.csv,
 *                               metrics.jsonl, config.json, metadata.json (last)
 *   {output}/{model}/metrics.json, grid_search.json, best_model/
 *
 * A fold whose metadata.json exists (with the same configuration) is skipped on
 * resume; a fold that fails writes error.json and the others go on.
 */
import { FOLD_FILES, foldDir, foldLockName } from '../evaluation/fold-layout.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FvcError, isFvcError } from '../errors.js';
import { generatePlots } from '../plots/plots.js';
import { CrossValidationTracking, NO_FOLD_RUN, openTrackingStore, type FoldRun } from '../tracking/mlflow.js';
import type { TrackingStore } from '../tracking/store.js';
import { parseCsv } from '../util/csv.js';
import { writeFoldPredictions } from '../evaluation/predictions.js';
import { VIDEO_ID } from '../data/video-id.js';
import { writeFileAtomic } from '../util/fs.js';
import { emptyLockedDir, withOutputLock } from '../util/lock.js';
import { createProgress, executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { resolveConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import type { FeatureData } from './dataset.js';
import { checkFolds, stratifiedGroupKFold, type Fold } from './folds.js';
import { computeMetrics, youdenThreshold, type Metrics } from '../evaluation/metrics.js';
import type { ModelContext } from './model.js';
import { inDependencyOrder, resolveModel, sharedExtractionRefusal, type GridValue, type ResolvedModel } from './registry.js';
import type { EpochRow } from '../deep/train.js';
import { batchEvent, batchReporter } from './batch-progress.js';
import type { FoldResult, TrainHooks } from './events.js';
import { checkAborted, evaluate, gridSearch, meanStd, type Run } from './grid-search.js';
import { exportFoldModel } from './best-model.js';

export type { FoldResult };
import { digestFiles } from './model-digest.js';
import { checkScaler } from './scaler.js';
import { ExperimentTracker } from './run-log.js';
import { runtimeInfo, type RuntimeInfo } from '../runtime.js';
import { resolveWeightsOption } from '../weights/cache.js';

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

export interface TrainResult {
  models: ModelSummary[];
  failed: string[];
  seconds: number;
}

/**
 * Each fold's metrics at a threshold chosen without its own videos: Youden's J on the
 * pooled out-of-fold predictions of the other folds (`val_threshold`, then accuracy,
 * F1, precision and recall `_at_threshold`), beside the fixed-0.5 ones.
 */
function addChosenThresholds(dir: string, rows: FoldResult[]): void {
  const preds = new Map(
    rows.map((r) => {
      const file = join(foldDir(dir, r.fold), FOLD_FILES.predictions);
      const lines = existsSync(file) ? parseCsv(readFileSync(file, 'utf8')) : [];
      return [r.fold, { labels: lines.map((l) => Number(l.label)), probs: lines.map((l) => Number(l.prob)) }];
    }),
  );
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

/** Fold metrics under the seed's names (val_acc, val_f1, ..., per class). */
function foldRow(fold: number, m: Metrics): FoldResult {
  return {
    fold,
    val_acc: m.accuracy,
    val_f1: m.f1,
    val_precision: m.precision,
    val_recall: m.recall,
    val_auc: m.roc_auc,
    val_ap: m.average_precision,
    val_eer: m.eer,
    val_loss: m.log_loss,
    val_tpr_at_fpr_1: m.tpr_at_fpr_1,
    val_tpr_at_fpr_5: m.tpr_at_fpr_5,
    val_tpr_at_fpr_10: m.tpr_at_fpr_10,
    val_brier: m.brier,
    val_ece: m.ece,
    val_precision_class0: m.precision_class0,
    val_recall_class0: m.recall_class0,
    val_f1_class0: m.f1_class0,
    val_precision_class1: m.precision_class1,
    val_recall_class1: m.recall_class1,
    val_f1_class1: m.f1_class1,
  };
}

const readJsonOr = (path: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** Loaded data by the model's data key: models that read the same data load and check it once. */
type DataLoader = (model: ResolvedModel) => Promise<FeatureData>;

function dataLoader(cfg: TrainConfig, log: (m: string) => void, signal?: AbortSignal): DataLoader {
  const loaded = new Map<string, Promise<FeatureData>>();
  return async (model) => {
    const ctx: ModelContext = { model, cfg, log, ...(signal ? { signal } : {}) };
    const key = await model.impl.dataKey(ctx);
    let p = loaded.get(key);
    if (!p) {
      p = model.impl.load(ctx);
      p.then(
        (d) => d.warnings.forEach((w) => log(`warning: ${w}`)),
        () => undefined,
      );
      loaded.set(key, p);
    }
    return p;
  };
}

/** Epochs a resumed fold's metrics.jsonl already holds (each is logged once). */
function loggedEpochs(dir: string): Set<number> {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return new Set();
  const epochs = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const m = JSON.parse(line) as { epoch?: number; phase?: string };
        return m.phase === 'train' && typeof m.epoch === 'number' && m.epoch > 0 ? [m.epoch] : [];
      } catch {
        return []; // a line cut by a kill
      }
    });
  return new Set(epochs);
}

/** Per-epoch series under the names MLflow and metrics.jsonl give them. */
const epochSeries = (e: EpochRow) => ({ train: { loss: e.train_loss, lr: e.lr, data_wait: e.data_wait }, val: { loss: e.val_loss, auc: e.val_auc, acc: e.val_acc } });
const mlflowSeries = (s: Record<string, Record<string, unknown>>) => Object.fromEntries(Object.entries(s).flatMap(([phase, m]) => Object.entries(m).map(([k, v]) => [`${phase}/${k}`, v])));

/**
 * The fold's metrics row and the files that make up its model (for tracking). Each
 * epoch reaches metrics.jsonl, the MLflow fold run and the caller's `epoch` event
 * when it ends; a boosting model's rounds when the fit returns them.
 */
async function trainFold(
  model: ResolvedModel,
  params: Record<string, GridValue>,
  data: FeatureData,
  fold: Fold,
  cfg: TrainConfig,
  dir: string,
  configHash: string,
  settings: Record<string, unknown>,
  log: (m: string) => void,
  run: Run,
  foldRun: FoldRun,
): Promise<{ row: FoldResult; files: string[] }> {
  const started = performance.now();
  // A fold interrupted under the same configuration resumes in place where the model can (deep checkpoints); anything else starts clean.
  const resumable = model.impl.resumable && cfg.resume && existsSync(join(dir, 'last.pt')) && readJsonOr(join(dir, 'config.json'))?.config_hash === configHash;
  if (!resumable) await rm(dir, { recursive: true, force: true });
  const tracker = new ExperimentTracker(dir);
  const config = {
    model_type: model.modelType,
    model_id: model.spec.id,
    family: model.spec.family,
    feature_set: model.featureSet,
    params,
    seed: cfg.seed,
    n_splits: cfg.nSplits,
    fold: fold.fold,
    feature_names: data.featureNames,
    data_source: data.source,
    num_frames: data.numFrames ?? null,
    config_hash: configHash,
    settings,
  };
  await tracker.writeConfig(config);
  const logged = resumable ? loggedEpochs(dir) : new Set<number>();
  const logEpoch = (e: EpochRow) => {
    if (logged.has(e.epoch)) return;
    logged.add(e.epoch);
    const series = epochSeries(e);
    tracker.logMetrics(e.epoch, e.epoch, 'train', series.train);
    tracker.logMetrics(e.epoch, e.epoch, 'val', series.val);
    foldRun.epoch(e.epoch, mlflowSeries(series));
  };
  const report = batchReporter(cfg.quiet);
  const { fitted, labels, metrics } = await evaluate(model, params, data, fold, dir, cfg, log, {
    ...(run.signal ? { signal: run.signal } : {}),
    onEpoch: (e) => {
      logEpoch(e);
      run.emit({ type: 'epoch', model: model.modelType, fold: fold.fold, epoch: e });
    },
    onBatch: (b) => {
      const e = batchEvent(model.modelType, fold.fold, cfg.deep.epochs, b);
      report(e);
      run.emit(e);
    },
  });
  // What the fit found out about itself (architecture, sampling, backbone weights) goes with the fold, and on into best_model/.
  if (fitted.describe) await tracker.writeConfig({ ...config, ...fitted.describe });
  // Epochs the live hook missed (a checkpoint saved just before a kill) are logged now.
  for (const e of fitted.epochs ?? []) logEpoch(e);
  if (fitted.rounds) {
    const key = fitted.rounds.metric;
    fitted.rounds.values.forEach((v, r) => {
      tracker.logMetrics(r + 1, r + 1, 'val', { [key]: v });
      foldRun.epoch(r + 1, { [`val/${key}`]: v });
    });
  }
  // Nothing non-finite goes into a saved model (JSON would store it as null).
  if (fitted.scaler) await writeFileAtomic(join(dir, 'scaler.json'), `${JSON.stringify({ feature_names: data.featureNames, ...checkScaler(fitted.scaler, join(dir, 'scaler.json'), data.cols) })}\n`);
  // source_group: the fold group (source) of each video, so intervals over these predictions resample whole sources.
  await writeFoldPredictions(
    join(dir, 'predictions.csv'),
    fold.val.map((i, k) => ({ id: data.ids[i] as string, fold: fold.fold, label: labels[k] as number, prob: fitted.probs[k] as number, group: data.groups[i] as string })),
  );
  const row = foldRow(fold.fold, metrics);
  // The fold's result at step 0, epoch 0: after training, apart from the per-epoch curves.
  tracker.logMetrics(
    0,
    0,
    'val',
    Object.fromEntries(
      Object.entries(row)
        .filter(([k]) => k !== 'fold')
        .map(([k, v]) => [k.replace(/^val_/, ''), v]),
    ),
  );
  await tracker.writeMetadata({
    ...row,
    model_type: model.modelType,
    model_file: fitted.file,
    extra_files: fitted.extraFiles ?? [],
    file_sha256: digestFiles(dir, [fitted.file, ...(fitted.extraFiles ?? []), ...(fitted.scaler ? ['scaler.json'] : [])]),
    kind: fitted.kind,
    params,
    native_params: fitted.nativeParams,
    ...(fitted.bestIteration !== undefined ? { best_iteration: fitted.bestIteration } : {}),
    ...(fitted.importance ? { feature_importance_gain: Object.fromEntries(data.featureNames.map((n, j) => [n, fitted.importance?.[j] ?? 0])) } : {}),
    confusion_matrix: metrics.confusion_matrix,
    class_balance: fold.balance,
    config_hash: configHash,
    seconds: (performance.now() - started) / 1000,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  });
  return { row, files: [join(dir, fitted.file), ...(fitted.extraFiles ?? []).map((f) => join(dir, f)), ...(fitted.scaler ? [join(dir, 'scaler.json')] : [])] };
}

/** A model with its data and folds, checked before any training starts. */
interface Prepared {
  model: ResolvedModel;
  data: FeatureData;
  folds: Fold[];
}

async function prepare(model: ResolvedModel, cfg: TrainConfig, load: DataLoader): Promise<Prepared> {
  const data = await load(model);
  const folds = stratifiedGroupKFold(data.labels, data.groups, cfg.nSplits, cfg.seed);
  const problems = checkFolds(folds);
  if (problems.length) throw new FvcError('ERR_INVALID_DATA', `${model.modelType}: ${problems.join('; ')}`);
  return { model, data, folds };
}

/** A fold finished earlier under the same configuration: its row and model files; null otherwise. */
function finishedFold(foldDir: string, configHash: string): { row: FoldResult; files: string[] } | null {
  const meta = join(foldDir, 'metadata.json');
  if (!existsSync(meta)) return null;
  const m = JSON.parse(readFileSync(meta, 'utf8')) as FoldResult & { config_hash?: string; model_file?: string; extra_files?: string[] };
  if (m.config_hash !== configHash) return null;
  const row = Object.fromEntries(Object.entries(m).filter(([k]) => k === 'fold' || k.startsWith('val_'))) as FoldResult;
  const files = [m.model_file, ...(m.extra_files ?? []), 'scaler.json']
    .filter((f): f is string => !!f)
    .map((f) => join(foldDir, f))
    .filter((f) => existsSync(f));
  return { row, files };
}

/** Why a fold has no result: its error.json, else that it never ran. */
function foldFailure(foldDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(foldDir, 'error.json'), 'utf8')) as { message: string }).message;
  } catch {
    return 'not trained (no metadata.json from this configuration)';
  }
}

const foldMetrics = (row: FoldResult) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'fold'));

/**
 * One run per model folder at a time: a whole run or a phase holds the model's lock;
 * the tasks of a fold array, which share the folder by design, each hold their folds'.
 */
async function trainModel(p: Prepared, cfg: TrainConfig, store: TrackingStore | null, log: (m: string) => void, run: Run): Promise<ModelSummary> {
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
  const { best, results, fingerprint } = await gridSearch(model, data, folds, cfg, dir, log, run);
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
        results: [join(foldPath, 'predictions.csv')],
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
      await foldRun.end(foldMetrics(row), files, 'FINISHED', undefined, [join(foldPath, 'predictions.csv')]);
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
      if (!isFvcError(err, 'ERR_LOCKED')) {
        await mkdir(foldPath, { recursive: true });
        await writeFileAtomic(
          join(foldPath, 'error.json'),
          `${JSON.stringify({ message: e.message, code: (e as { code?: string }).code, stack: e.stack, config: { model_type: model.modelType, params: best, fold: fold.fold, seed: cfg.seed } }, null, 2)}\n`,
        );
      }
      log(`${model.modelType}: fold ${fold.fold} failed: ${e.message}`);
      await foldRun.end({}, [], 'FAILED', e.message);
      await recordTiming(cfg.outputDir, { stage: 'stage5', model_type: model.modelType, fold: fold.fold, seconds: (performance.now() - t) / 1000, status: 'failed' });
      foldEnd(fold.fold, 'failed', (performance.now() - t) / 1000, { error: e.message });
    }
    progress.tick(`fold ${fold.fold}`);
  }
  progress.done(`${rows.length}/${wanted.length} folds`);
  run.emit({ type: 'model-end', model: model.modelType, trained: rows.length, failed: failedFolds.length, seconds: (performance.now() - started) / 1000 });
  if (!foldTask) addChosenThresholds(dir, rows);
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  const summary: Record<string, unknown> = { model_type: model.modelType, model_id: model.spec.id, n_splits: cfg.nSplits, feature_set: model.featureSet, fold_results: rows };
  for (const k of Object.keys(rows[0] ?? {}).filter((k) => k !== 'fold')) {
    const vals = rows.map((r) => r[k]).filter((v): v is number => typeof v === 'number');
    if (!vals.length) continue;
    const [m, s] = meanStd(vals);
    mean[k] = m;
    std[k] = s;
    summary[`mean_${k}`] = m;
    summary[`std_${k}`] = s;
  }
  if (foldTask) return { ...empty, folds: rows, failedFolds, mean, std, seconds: (performance.now() - started) / 1000 };
  const selectKey = { f1: 'val_f1', accuracy: 'val_acc', roc_auc: 'val_auc', average_precision: 'val_ap' }[cfg.selectionMetric];
  const bestRow = rows.reduce<FoldResult | undefined>((b, r) => (!b || ((r[selectKey] ?? -1) as number) > ((b[selectKey] ?? -1) as number) ? r : b), undefined);
  const bestFold = bestRow?.fold ?? null;
  Object.assign(summary, { best_fold: bestFold, best_params: best, selection_metric: cfg.selectionMetric, hyperparameter_search: results, failed_folds: failedFolds });
  await writeFileAtomic(join(dir, 'grid_search.json'), `${JSON.stringify({ selection_metric: cfg.selectionMetric, results, best_params: best, fingerprint }, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (bestFold !== null) await exportFoldModel(foldDir(dir, bestFold), join(dir, 'best_model'), model);
  await tracking?.finish(
    Object.fromEntries(Object.entries(summary).filter(([k]) => k.startsWith('mean_') || k.startsWith('std_'))),
    [join(dir, 'metrics.json'), join(dir, 'grid_search.json')],
    rows.length ? 'FINISHED' : 'FAILED',
  );
  const seconds = (performance.now() - started) / 1000;
  await recordTiming(cfg.outputDir, { stage: 'stage5', model_type: model.modelType, seconds, status: failedFolds.length ? 'failed' : 'ok', items: rows.length });
  log(
    `${model.modelType}: ${rows.length}/${folds.length} folds, mean val_f1 ${mean.val_f1?.toFixed(4) ?? 'n/a'} ± ${std.val_f1?.toFixed(4) ?? 'n/a'}, best fold ${bestFold ?? 'none'}; ${executionTimeLine(seconds)}`,
  );
  return { modelType: model.modelType, dir, folds: rows, failedFolds, bestParams: best, bestFold, mean, std, seconds };
}

/**
 * `device: 'cuda'` on a build whose LibTorch or libxgboost lacks CUDA is refused once,
 * up front, naming the library, instead of failing fold after fold.
 */
function checkDevice(cfg: TrainConfig, models: readonly ResolvedModel[]): void {
  if (cfg.device === 'auto' || cfg.device === 'cpu') return;
  for (const model of models) model.impl.checkDevice?.({ model, cfg, log: () => undefined });
}

/**
 * `only: 'extract'`: the shared embeddings of every model on a pretrained backbone,
 * extracted (or found) as their training would, and nothing trained. The data is
 * loaded exactly as the model job will load it, so both agree on the table's key.
 */
async function extractOnly(models: ResolvedModel[], cfg: TrainConfig, log: (m: string) => void, started: number): Promise<TrainResult> {
  const bad = models.flatMap((m) => {
    const why = sharedExtractionRefusal(m.spec, cfg.deep.weights);
    return why ? [`${m.modelType} (${why})`] : [];
  });
  if (bad.length) throw new FvcError('ERR_INVALID_ARGUMENT', `only extract: ${bad.join('; ')}: list models on a pretrained backbone`);
  const load = dataLoader(cfg, log);
  // A feature-set suffix only adds handcrafted columns: the bare model extracts the same table without needing Stage 2.
  const bare = [...new Map(models.map((m) => [m.spec.name, { ...m, suffix: null, modelType: m.spec.name }])).values()];
  for (const model of bare) await load(model);
  const seconds = (performance.now() - started) / 1000;
  log(`deep features of ${bare.map((m) => m.modelType).join(', ')} ready; ${executionTimeLine(seconds)}`);
  return { models: [], failed: [], seconds };
}

/**
 * Train every requested model; the typed API behind `fvc train`. `hooks.onProgress`
 * receives typed events (model, fold, epoch, ETA); `hooks.signal` stops training
 * between epochs or folds with ERR_ABORTED, keeping what finished for a rerun.
 */
export async function train(options: TrainConfigInput, hooks: TrainHooks = {}): Promise<TrainResult> {
  const started = performance.now();
  const cfg = resolveConfig(options);
  cfg.outputDir = resolve(cfg.outputDir);
  // On a terminal a log line first clears the progress bar it interrupts.
  const clear = process.stderr.isTTY ? '\r\x1b[K' : '';
  const log = (m: string) => cfg.quiet || process.stderr.write(`${clear}stage5: ${m}\n`);
  // Every model id, feature source and fold split is checked before any training starts.
  const models = inDependencyOrder(cfg.models.map((m) => resolveModel(m, cfg.featureSet)));
  checkDevice(cfg, models);
  // Published weights by name (r2plus1d_18:kinetics400) or URL: their files in the cache, fetched once.
  cfg.deep.weights = await resolveWeightsOption(cfg.deep.weights, { log, ...(hooks.signal ? { signal: hooks.signal } : {}), quiet: cfg.quiet });
  // The run's resolved configuration beside its results (each fold's config.json has its own part).
  await mkdir(cfg.outputDir, { recursive: true });
  await writeFileAtomic(join(cfg.outputDir, 'run_config.json'), `${JSON.stringify({ written: new Date().toISOString(), config: cfg }, null, 2)}\n`);
  if (cfg.only === 'extract') return extractOnly(models, cfg, log, started);
  const run: Run = { ...(hooks.signal ? { signal: hooks.signal } : {}), emit: (e) => hooks.onProgress?.(e) };
  const load = dataLoader(cfg, log, hooks.signal);
  const store = cfg.tracking ? openTrackingStore(cfg.trackingUri) : null;
  const prepared: Prepared[] = [];
  for (const model of models) prepared.push(await prepare(model, cfg, load));
  const summaries: ModelSummary[] = [];
  const failed: string[] = [];
  for (const p of prepared) {
    const { model } = p;
    try {
      checkAborted(run, `before ${model.modelType}`);
      const s = await trainModel(p, cfg, store, log, run);
      summaries.push(s);
      if (s.failedFolds.length) failed.push(`${model.modelType} fold(s) ${s.failedFolds.map((f) => f.fold).join(', ')}`);
    } catch (err) {
      if (isFvcError(err, 'ERR_ABORTED'))
        throw new FvcError('ERR_ABORTED', `${err.message}; finished folds are kept and deep folds keep their last epoch checkpoint: run the same command again to resume`);
      if (models.length === 1) throw err;
      failed.push(`${model.modelType}: ${(err as Error).message}`);
      log(`${model.modelType} failed: ${(err as Error).message}`);
    }
  }
  const plotted = summaries.filter((s) => s.folds.length > 0);
  if (cfg.plots && summaries.length && !plotted.length && !cfg.folds && cfg.only !== 'grid_search') log('no plots: no model finished a fold');
  if (cfg.plots && plotted.length && !cfg.folds && cfg.only !== 'grid_search') {
    // Plots are a view of results already on disk: failing to draw them fails nothing.
    try {
      const { files } = await generatePlots({ stage5Dir: cfg.outputDir, models: plotted.map((s) => s.modelType) });
      log(`${files.length} plots written (fvc report builds the HTML page)`);
    } catch (err) {
      log(`plots failed: ${(err as Error).message}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await recordTiming(cfg.outputDir, { stage: 'stage5', seconds, status: failed.length ? 'failed' : 'ok', items: summaries.length });
  log(`${summaries.length} model(s) trained, ${failed.length} failed; total ${executionTimeLine(seconds)}`);
  return { models: summaries, failed, seconds };
}

export interface TrainingCheck {
  /** One line per check that passed, for job logs. */
  passed: string[];
}

/**
 * What a cluster job verifies before it trains (the seed's prerequisite, import and
 * feature-sanity checks): the native core loads, every model is known and built, its
 * stage outputs exist and hold finite features of both classes, and the folds split.
 * Throws the first problem, naming the file or field.
 */
export async function checkTraining(options: TrainConfigInput): Promise<TrainingCheck> {
  const cfg = resolveConfig(options);
  // A check downloads nothing: named weights must already be in the cache.
  cfg.deep.weights = await resolveWeightsOption(cfg.deep.weights, { offline: true });
  const passed: string[] = [];
  let info: RuntimeInfo;
  try {
    info = runtimeInfo();
  } catch (err) {
    throw new FvcError('ERR_ADDON_LOAD', `the native core does not load: ${(err as Error).message}`, { cause: err });
  }
  passed.push(
    `native core loads (${Object.entries(info.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
  const models = cfg.models.map((m) => resolveModel(m, cfg.featureSet));
  const load = dataLoader(cfg, () => undefined);
  for (const model of models) {
    // A model whose data is the work itself (deep features) checks its inputs its own way.
    if (model.impl.preflight) {
      passed.push(...(await model.impl.preflight({ model, cfg, log: () => undefined })));
      continue;
    }
    const { data, folds } = await prepare(model, cfg, load);
    const fakes = data.labels.filter((l) => l === 1).length;
    const settings = await model.impl.settings({ model, cfg, log: () => undefined });
    if (settings.architecture) passed.push(`${model.modelType}: native architecture ${String(settings.architecture)}`);
    passed.push(`${model.modelType}: ${data.rows} rows (${fakes} fake, ${data.rows - fakes} real) x ${data.cols} finite features from ${data.source}; ${folds.length} folds with both classes`);
    for (const w of data.warnings) passed.push(`${model.modelType}: warning: ${w}`);
  }
  return { passed };
}
