/**
 * One fold of one model: its folder (config.json, the model files, scaler.json,
 * predictions.csv, metrics.jsonl, and metadata.json last), its epochs as they end
 * (metrics.jsonl, the MLflow fold run, the caller's events) and its metrics row.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FOLD_FILES } from '../evaluation/fold-layout.js';
import type { Metrics } from '../evaluation/metrics.js';
import { writeFoldPredictions } from '../evaluation/predictions.js';
import type { FoldRun } from '../tracking/mlflow.js';
import { writeFileAtomic } from '../util/fs.js';
import type { EpochRow } from '../deep/train.js';
import { batchEvent, batchReporter } from './batch-progress.js';
import type { ResolvedModel } from './model.js';
import type { GridValue } from './spec.js';
import type { TrainConfig } from './config.js';
import type { FeatureData } from './dataset.js';
import type { FoldResult } from './events.js';
import { foldConfigHash, loggedEpochs } from './fold-records.js';
import type { Fold } from './folds.js';
import { evaluate, type Run } from './grid-search.js';
import { digestFiles } from './model-digest.js';
import { ExperimentTracker } from './run-log.js';
import { checkScaler } from './scaler.js';

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

/** Per-epoch series under the names MLflow and metrics.jsonl give them. */
const epochSeries = (e: EpochRow) => ({ train: { loss: e.train_loss, lr: e.lr, data_wait: e.data_wait }, val: { loss: e.val_loss, auc: e.val_auc, acc: e.val_acc } });
const mlflowSeries = (s: Record<string, Record<string, unknown>>) => Object.fromEntries(Object.entries(s).flatMap(([phase, m]) => Object.entries(m).map(([k, v]) => [`${phase}/${k}`, v])));

/**
 * The fold's metrics row and the files that make up its model (for tracking). Each
 * epoch reaches metrics.jsonl, the MLflow fold run and the caller's `epoch` event
 * when it ends; a boosting model's rounds when the fit returns them.
 */
export async function trainFold(
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
  const resumable = model.impl.resumable && cfg.resume && existsSync(join(dir, 'last.pt')) && foldConfigHash(dir) === configHash;
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
    join(dir, FOLD_FILES.predictions),
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
