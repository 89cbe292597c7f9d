/**
 * The Stage 5 engine: every requested model checked before any trains (ids, data,
 * folds, devices, weights), then each in dependency order (ts/train/model-training.ts:
 * grid search, folds, summary), plots after, in the seed's layout:
 *
 *   {output}/{model}/fold_{N}/  model file, scaler.json, predictions.csv,
 *                               metrics.jsonl, config.json, metadata.json (last)
 *   {output}/{model}/metrics.json, grid_search.json, best_model/
 *
 * A fold whose metadata.json exists (with the same configuration) is skipped on
 * resume; a fold that fails writes error.json and the others go on.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FvcError, isFvcError } from '../errors.js';
import { generatePlots } from '../plots/plots.js';
import { openTrackingStore } from '../tracking/mlflow.js';
import { writeFileAtomic } from '../util/fs.js';
import { executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { resolveConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import type { FeatureData } from './dataset.js';
import { checkFolds, stratifiedGroupKFold } from './folds.js';
import type { ModelContext } from './model.js';
import { inDependencyOrder, resolveModel, sharedExtractionRefusal, type ResolvedModel } from './registry.js';
import type { FoldResult, TrainHooks } from './events.js';
import { checkAborted, type Run } from './grid-search.js';
import { trainModel, type Prepared } from './model-training.js';
import type { ModelSummary } from './summary.js';
import { runtimeInfo, type RuntimeInfo } from '../runtime.js';
import { resolveWeightsOption } from '../weights/cache.js';

export type { FoldResult, ModelSummary };

export interface TrainResult {
  models: ModelSummary[];
  failed: string[];
  seconds: number;
}

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

async function prepare(model: ResolvedModel, cfg: TrainConfig, load: DataLoader): Promise<Prepared> {
  const data = await load(model);
  const folds = stratifiedGroupKFold(data.labels, data.groups, cfg.nSplits, cfg.seed);
  const problems = checkFolds(folds);
  if (problems.length) throw new FvcError('ERR_INVALID_DATA', `${model.modelType}: ${problems.join('; ')}`);
  return { model, data, folds };
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
  const { shard } = cfg;
  for (const model of bare) {
    if (!shard) await load(model);
    else if (model.impl.extractShard) log(await model.impl.extractShard({ model, cfg, log }, shard));
    else throw new FvcError('ERR_INVALID_ARGUMENT', `only extract --shard: ${model.modelType} has no extraction to shard`);
  }
  if (shard) {
    const seconds = (performance.now() - started) / 1000;
    log(
      `shard ${shard.index}/${shard.count} of the deep features of ${bare.map((m) => m.modelType).join(', ')} stored; the unsharded extraction job assembles the tables; ${executionTimeLine(seconds)}`,
    );
    return { models: [], failed: [], seconds };
  }
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
