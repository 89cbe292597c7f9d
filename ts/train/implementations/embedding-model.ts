/**
 * XGBoost on a pretrained video network's features (5f, 5g, 5h): the backbone's
 * embeddings from the shared extraction store, optionally beside the Stage 2/4
 * handcrafted features (a _stage2 suffix), then the 5beta engine per fold.
 *
 * The backbone's weights: a file the user supplies (extracted once for all folds),
 * else, for backbones Stage 5 trains itself (i3d, r2plus1d), the checkpoint that
 * model trained in the same fold on that fold's training split only (checked
 * against its predictions.csv, so no validation video ever shaped the features),
 * else a random initialisation when asked for. Nothing random without asking.
 */
import { faceCrop, type FaceCropOptions } from '../../video/faces.js';
import { resolveDevice } from '../../runtime.js';
import { native } from '../../native/binding.js';
import { xgboostDevice } from '../classical.js';
import { foldName, modelFoldDir } from '../../evaluation/fold-layout.js';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadMetadata, type VideoRow } from '../../data/metadata.js';
import { FvcError } from '../../errors.js';
import { verifyDigests } from '../model-digest.js';
import { extractEmbeddings, type WeightsSource } from '../../extract/store.js';
import type { ModelKind } from '../../native/binding.js';
import { fitClassical, predictClassical } from '../classical.js';
import { videoTable } from '../clips.js';
import type { TrainConfig } from '../config.js';
import { groupsOf, loadStageFeatures, type FeatureData } from '../dataset.js';
import type { Fold } from '../folds.js';
import type { BestModel, ModelContext, Stage5Model } from '../model.js';
import { architectureFor, specOf, weightsFileFor, type ResolvedModel } from '../catalogue.js';
import { readFoldPredictions } from '../../evaluation/predictions.js';
import { publishedSampling, weightsSource as publishedSource } from '../../weights/preset.js';
import type { Sampling } from '../../deep/presets.js';
import { deviceOf, samplingOverrides, weightsFor } from './deep-model.js';
import { handcraftedMatrix } from './feature-model.js';

export interface EmbeddingData extends FeatureData {
  videos: string[];
  /** Handcrafted features joined per row (empty without a feature-set suffix). */
  handcrafted: { names: string[]; x: Float64Array };
  /** Embeddings shared by every fold (file or random weights); null when each fold brings its own. */
  shared: { x: Float64Array; names: string[]; weights: Record<string, unknown> } | null;
}

export interface EmbeddingModelOptions {
  backbone: string;
  /** The Stage 5 model whose fold checkpoints serve as the backbone when no weights file is given. */
  foldModel?: string;
}

/**
 * The backbone's architecture: for a backbone Stage 5 trains itself, the one chosen for
 * that model (deep.architectures, e.g. vit_gru=vit_gru_ti16), else the fixed one.
 */
function backboneOf(cfg: TrainConfig, o: EmbeddingModelOptions): string {
  const trainer = o.foldModel ? specOf(o.foldModel) : undefined;
  return trainer?.architectures ? architectureFor(trainer, cfg.deep.architectures) : o.backbone;
}

function weightsSource(ctx: ModelContext, o: EmbeddingModelOptions): WeightsSource | null {
  const backbone = backboneOf(ctx.cfg, o);
  const file = weightsFor(ctx.cfg, backbone, ctx.model.spec) ?? (backbone === o.backbone ? undefined : weightsFor(ctx.cfg, o.backbone, ctx.model.spec));
  if (file) return { kind: 'file', path: file };
  if (o.foldModel) return null;
  if (ctx.cfg.deep.randomInit) return { kind: 'random', seed: ctx.cfg.seed };
  throw new FvcError(
    'ERR_INVALID_ARGUMENT',
    `${ctx.model.modelType}: needs the weights of its backbone ${backbone} (deep.weights / --weights ${backbone}=FILE: .safetensors or torchvision's .pth); random backbone weights only when asked for (deep.randomInit / --random-init)`,
  );
}

/**
 * The run's sampling over that of the backbone's published weights, when it starts from
 * them: their frames and sizes, and their normalisation where it is not the backbone's.
 */
async function sharedSampling(ctx: ModelContext, o: EmbeddingModelOptions): Promise<Partial<Sampling>> {
  const backbone = backboneOf(ctx.cfg, o);
  const file = weightsFor(ctx.cfg, backbone, ctx.model.spec) ?? (backbone === o.backbone ? undefined : weightsFor(ctx.cfg, o.backbone, ctx.model.spec));
  return { ...(file ? await publishedSampling(file, backbone) : {}), ...samplingOverrides(ctx.cfg) };
}

const extractOptions = async (cfg: TrainConfig, sampling: Partial<Sampling>) => ({
  scale: { width: cfg.deep.width, depth: cfg.deep.depth },
  sampling,
  ...(cfg.deep.faces ? { faces: await faceCrop(cfg.deep.faces, 'deep.faces') } : {}),
  ...(cfg.featuresDir ? { featuresDir: cfg.featuresDir } : {}),
  ...(cfg.frameCacheDir ? { frameCacheDir: cfg.frameCacheDir } : {}),
  threads: cfg.threads,
  batchSize: cfg.deep.extractBatchSize,
  loaderThreads: cfg.deep.loaderThreads,
  quiet: cfg.quiet,
  strict: true,
});

/** Rows of x (row-major, `cols` wide) side by side with rows of y. */
function hstack(a: Float64Array, aCols: number, b: Float64Array, bCols: number, rows: number): Float64Array {
  const out = new Float64Array(rows * (aCols + bCols));
  for (let i = 0; i < rows; i++) {
    out.set(a.subarray(i * aCols, (i + 1) * aCols), i * (aCols + bCols));
    out.set(b.subarray(i * bCols, (i + 1) * bCols), i * (aCols + bCols) + aCols);
  }
  return out;
}

/**
 * The fold's backbone when it is trained by Stage 5 itself: {output}/{foldModel}/fold_N,
 * refused unless that fold validated on exactly this fold's validation videos.
 */
function foldCheckpoint(
  cfg: TrainConfig,
  model: ResolvedModel,
  o: EmbeddingModelOptions,
  fold: Fold,
  data: EmbeddingData,
): { path: string; architecture: string; scale: { width: number; depth: number }; input: Partial<Sampling> } {
  const dir = modelFoldDir(cfg.outputDir, o.foldModel as string, fold.fold);
  const checkpoint = join(dir, 'model.pt');
  const backbone = backboneOf(cfg, o);
  const why = `${model.modelType} fold ${fold.fold}: no weights file for backbone ${backbone} was given, so it uses ${o.foldModel}'s checkpoint of the same fold`;
  if (!existsSync(checkpoint) || !existsSync(join(dir, 'metadata.json')))
    throw new FvcError(
      'ERR_FILE_NOT_FOUND',
      `${why}, and ${checkpoint} does not exist: train ${o.foldModel} first with the same folds (fvc train --models ${o.foldModel}), give --weights ${backbone}=FILE, or ask for random weights (--random-init)`,
    );
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
    architecture?: string;
    deep?: { scale?: { width?: number; depth?: number } } & Partial<Sampling>;
  };
  const predicted = readFoldPredictions(join(dir, 'predictions.csv'), o.foldModel as string).map((p) => p.id);
  const expected = fold.val.map((i) => data.ids[i] as string);
  const same = predicted.length === expected.length && [...predicted].sort().join('\n') === [...expected].sort().join('\n');
  if (!same)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${why}, but ${join(dir, 'predictions.csv')} validated on other videos than this fold's: its features could have seen this fold's validation videos. Train both with the same data, folds and seed.`,
    );
  if (config.architecture !== backbone)
    throw new FvcError('ERR_INVALID_DATA', `${why}, but it was trained as ${config.architecture}, not ${backbone} (deep.architectures must choose the same for both)`);
  verifyDigests(dir, (JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as { file_sha256?: unknown }).file_sha256, join(dir, 'metadata.json'));
  // The input the checkpoint learnt on: its fold's frames, sizes and normalisation.
  const { numFrames, cropSize, frameSize, mean, std } = config.deep ?? {};
  return {
    path: checkpoint,
    architecture: config.architecture,
    scale: { width: config.deep?.scale?.width ?? 1, depth: config.deep?.scale?.depth ?? 0 },
    input: { ...(numFrames ? { numFrames } : {}), ...(cropSize ? { cropSize } : {}), ...(frameSize ? { frameSize } : {}), ...(mean && std ? { mean, std } : {}) },
  };
}

/** Handcrafted features beside the embeddings, joined on the video's id (a Stage 1 copy's included). */
export function joinHandcrafted(rows: VideoRow[], hc: FeatureData): { rows: VideoRow[]; x: Float64Array<ArrayBuffer>; names: string[]; matched: number[]; leftOut: number } {
  const at = new Map(hc.ids.map((id, i) => [id, i]));
  const kept = rows.filter((r) => at.has(r.video_id));
  const matched = kept.map((r) => at.get(r.video_id) as number);
  const x = new Float64Array(kept.length * hc.cols);
  matched.forEach((j, i) => x.set(hc.x.subarray(j * hc.cols, (j + 1) * hc.cols), i * hc.cols));
  return { rows: kept, x, names: hc.featureNames, matched, leftOut: rows.length - kept.length };
}

export function embeddingModel(o: EmbeddingModelOptions): Stage5Model<EmbeddingData> {
  return {
    resumable: false,
    checkDevice: ({ cfg }) => {
      resolveDevice(cfg.device);
      xgboostDevice(cfg.device, native.xgboostInfo(), () => resolveDevice('auto') === 'cuda');
    },
    extractShard: async (ctx, shard) => {
      const { cfg, model } = ctx;
      const source = weightsSource(ctx, o);
      if (!source) throw new FvcError('ERR_INVALID_ARGUMENT', `${model.modelType}: its backbone is ${o.foldModel}'s fold checkpoints, which its folds extract from; nothing to shard`);
      const backbone = backboneOf(cfg, o);
      // The videos and settings load() extracts for, so the unsharded job finds every part.
      const videos = (await loadMetadata(videoTable(cfg))).rows.map((r) => r.absolute_path);
      const e = await extractEmbeddings({
        backbone,
        weights: source,
        videos,
        ...(await extractOptions(cfg, await sharedSampling(ctx, o))),
        device: deviceOf(cfg),
        shard,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      return `${model.modelType}: ${backbone} features, shard ${e.shard}: ${e.extracted} extracted, ${e.reused} reused`;
    },
    // A check must not extract (the extraction job or the folds do, with the run's own
    // sampling): the videos exist and the backbone's weights can be read.
    preflight: async ({ model, cfg }) => {
      const table = videoTable(cfg);
      const file = weightsFileFor(cfg.deep.weights, o.backbone, model.spec);
      if (file && !existsSync(file)) throw new FvcError('ERR_FILE_NOT_FOUND', `${model.modelType}: weights file ${file} of backbone ${o.backbone} does not exist`);
      if (!file && !o.foldModel && !cfg.deep.randomInit)
        throw new FvcError('ERR_INVALID_ARGUMENT', `${model.modelType}: needs the weights of its backbone ${o.backbone} (--weights ${o.backbone}=FILE), or --random-init`);
      return [`${model.modelType}: videos from ${table}; backbone ${o.backbone} from ${file ?? (o.foldModel ? `${o.foldModel}'s fold checkpoints` : 'a random initialisation (asked for)')}`];
    },
    dataKey: async (ctx) => `embed:${backboneOf(ctx.cfg, o)}:${ctx.model.spec.name}:${ctx.model.suffix ?? ''}${ctx.cfg.deep.faces ? `:faces:${JSON.stringify(ctx.cfg.deep.faces)}` : ''}`,
    load: async (ctx) => {
      const { cfg, model, log } = ctx;
      const table = videoTable(cfg);
      let { rows } = await loadMetadata(table);
      const warnings: string[] = [];
      let handcrafted = { names: [] as string[], x: new Float64Array(0) };
      if (model.suffix) {
        const joined = joinHandcrafted(rows, await loadStageFeatures(model.suffix, cfg.stage2Dir, cfg.stage4Dir));
        if (joined.leftOut) warnings.push(`${joined.leftOut} video(s) of ${table} have no ${model.suffix} features (matched on video_id); left out`);
        rows = joined.rows;
        handcrafted = { names: joined.names, x: joined.x };
      }
      const videos = rows.map((r) => r.absolute_path);
      const source = weightsSource(ctx, o);
      let shared: EmbeddingData['shared'] = null;
      if (source) {
        const e = await extractEmbeddings({
          backbone: backboneOf(cfg, o),
          weights: source,
          videos,
          ...(await extractOptions(cfg, await sharedSampling(ctx, o))),
          device: deviceOf(cfg),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        });
        log(`${model.modelType}: ${backboneOf(cfg, o)} features of ${videos.length} videos from ${e.table} (${e.extracted} extracted, ${e.reused} reused)`);
        shared = {
          x: e.x,
          names: e.columns,
          weights: {
            kind: source.kind,
            ...(source.kind === 'random' ? { seed: source.seed } : { path: resolve(source.path), sha256: e.weightsSha256, source: publishedSource(source.path) }),
            table: e.table,
          },
        };
      }
      const names = [...(shared?.names ?? []), ...handcrafted.names];
      const cols = names.length;
      return {
        ids: rows.map((r) => r.video_id),
        labels: rows.map((r) => r.label),
        groups: groupsOf(
          rows,
          rows.map((r) => r.video_id),
        ),
        featureNames: names,
        x: new Float64Array(0),
        rows: rows.length,
        cols,
        source: shared ? `${table} + ${shared.weights.table as string}` : `${table} + ${backboneOf(cfg, o)} features of ${o.foldModel}'s fold checkpoints`,
        videos,
        handcrafted,
        shared,
        warnings,
      };
    },
    settings: async (ctx) => {
      const { cfg } = ctx;
      const x = await extractOptions(cfg, await sharedSampling(ctx, o));
      return {
        backbone: backboneOf(cfg, o),
        extraction: x.sampling,
        ...(x.faces ? { faces: x.faces } : {}),
        scale: x.scale,
        weights: cfg.deep.weights ?? null,
        randomInit: cfg.deep.randomInit,
      };
    },
    fit: async (ctx) => {
      const { model, params, data, fold, dir, cfg, signal } = ctx;
      let extraction = await extractOptions(cfg, await sharedSampling(ctx, o));
      let emb: { x: Float64Array; names: string[]; weights: Record<string, unknown>; extra?: string[] };
      if (data.shared) emb = data.shared;
      else {
        const ck = foldCheckpoint(cfg, model, o, fold, data);
        // The clips it embeds are sampled and normalised as those it learnt on.
        extraction = { ...extraction, sampling: { ...extraction.sampling, ...ck.input } };
        const e = await extractEmbeddings({
          backbone: ck.architecture,
          weights: { kind: 'checkpoint', path: ck.path },
          videos: data.videos,
          ...extraction,
          scale: ck.scale,
          device: deviceOf(cfg),
          ...(signal ? { signal } : {}),
        });
        // best_model/ must predict without the source fold's folder: the backbone travels with it.
        await copyFile(ck.path, join(dir, 'backbone.pt'));
        emb = {
          x: e.x,
          names: e.columns,
          weights: { kind: 'checkpoint', file: 'backbone.pt', trained_by: `${o.foldModel}/${foldName(fold.fold)}`, sha256: e.weightsSha256, scale: ck.scale, table: e.table },
          extra: ['backbone.pt'],
        };
      }
      const cols = emb.names.length + data.handcrafted.names.length;
      const x = hstack(emb.x, emb.names.length, data.handcrafted.x, data.handcrafted.names.length, data.rows);
      const matrix = { ...data, x, cols, featureNames: [...emb.names, ...data.handcrafted.names] };
      const fitted = await fitClassical(model.spec, params, matrix, fold.train, dir, { seed: cfg.seed + fold.fold, threads: cfg.threads, device: cfg.device });
      const valX = new Float64Array(fold.val.length * cols);
      fold.val.forEach((i, k) => valX.set(x.subarray(i * cols, (i + 1) * cols), k * cols));
      const probs = await predictClassical(fitted.kind, join(dir, fitted.file), valX, fold.val.length, cols, undefined, cfg.threads);
      const describe = {
        backbone: backboneOf(cfg, o),
        backbone_weights: emb.weights,
        embedding_columns: emb.names.length,
        handcrafted_features: data.handcrafted.names,
        feature_set: model.suffix ?? null,
        extraction: extraction.sampling,
        ...(extraction.faces ? { faces: extraction.faces } : {}),
        scale: emb.weights.scale ?? extraction.scale,
      };
      return { ...fitted, probs, describe, ...(emb.extra ? { extraFiles: emb.extra } : {}) };
    },
    predict: async (best, videos, po) => predictEmbedding(best, videos, po, o.backbone),
  };
}

async function predictEmbedding(best: BestModel, videos: readonly string[], po: Parameters<Stage5Model['predict']>[2], backbone: string): Promise<Float64Array> {
  const d = best.descriptor as {
    backbone?: string;
    backbone_weights: { kind: string; path?: string; file?: string; sha256?: string; seed?: number };
    handcrafted_features: string[];
    extraction: Partial<Sampling>;
    /** Face crops the features were extracted from, when any: predict crops alike. */
    faces?: FaceCropOptions;
    scale: { width: number; depth: number };
    feature_set: string | null;
  };
  const w = d.backbone_weights;
  const source: WeightsSource =
    w.kind === 'file' ? { kind: 'file', path: w.path as string } : w.kind === 'checkpoint' ? { kind: 'checkpoint', path: join(best.dir, w.file as string) } : { kind: 'random', seed: w.seed ?? 0 };
  const e = await extractEmbeddings({
    backbone: d.backbone ?? backbone,
    weights: source,
    videos,
    sampling: d.extraction,
    ...(d.faces ? { faces: await faceCrop(d.faces, `${join(best.dir, 'model.json')}: faces`) } : {}),
    scale: d.scale,
    threads: po.threads,
    device: po.device,
    quiet: true,
    strict: true,
    ...(po.featuresDir ? { featuresDir: po.featuresDir } : {}),
    ...(po.frameCacheDir ? { frameCacheDir: po.frameCacheDir } : {}),
  });
  if (w.sha256 && e.weightsSha256 !== w.sha256)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${source.kind === 'random' ? '' : source.path}: the backbone's weights changed since this model was trained (sha256 ${e.weightsSha256?.slice(0, 12)}..., trained with ${w.sha256.slice(0, 12)}...): its features would not be the ones the booster learned`,
    );
  let x = e.x;
  let cols = e.dim;
  if (d.handcrafted_features.length) {
    const hc = await handcraftedMatrix({ ...best, descriptor: { ...best.descriptor, feature_names: d.handcrafted_features, feature_set: d.feature_set } }, videos, po.numFrames);
    x = hstack(x, cols, hc, d.handcrafted_features.length, videos.length);
    cols += d.handcrafted_features.length;
  }
  return predictClassical(best.kind as ModelKind, best.modelFile, x, videos.length, cols, undefined, po.threads);
}
