/**
 * Inference with a trained model (any best_model/ folder). Feature-based models:
 * the video's handcrafted features computed natively — Stage 4's on a temporary
 * letterboxed copy when the model was trained on them — then the model. Deep
 * models: the video's clip sampled into the frame cache exactly as in training
 * (plus its optical flow for two_stream), then the checkpoint, on the native side.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { FrameCache } from '../cache/frame-cache.js';
import { predictDeepClips, type DeepOptions } from '../deep/train.js';
import { FvcError } from '../errors.js';
import { resolveDevice } from '../runtime.js';
import { mapPool } from '../util/pool.js';
import { extractHandcraftedFeatures } from '../features/handcrafted.js';
import type { FlowMethod, ModelKind } from '../native/binding.js';
import { scaleVideo } from '../video/scale.js';
import { predictClassical } from './classical.js';
import { MODELS, type FeatureSet } from './registry.js';
import type { Scaler } from './scaler.js';

export interface LoadedModel {
  /** Deep models: the native architecture and the options it was trained with. */
  architecture?: string;
  deep?: DeepOptions & { flowMethod?: FlowMethod };
  dir: string;
  modelType: string;
  kind: ModelKind;
  modelFile: string;
  featureSet: FeatureSet;
  featureNames: string[];
  /** Frames per video the training features were computed from. */
  numFrames: { stage2?: number; stage4?: number };
  scaler?: Scaler;
}

export function loadModel(dir: string): LoadedModel {
  const descriptor = join(dir, 'model.json');
  if (!existsSync(descriptor)) throw new FvcError('ERR_FILE_NOT_FOUND', `${descriptor}: no such file (--model takes a trained model's best_model folder)`);
  const d = JSON.parse(readFileSync(descriptor, 'utf8')) as {
    model_type: string;
    kind: ModelKind;
    model_file: string;
    feature_set: FeatureSet;
    feature_names: string[];
    num_frames?: { stage2?: number; stage4?: number } | null;
    architecture?: string;
    deep?: LoadedModel['deep'];
  };
  const scalerPath = join(dir, 'scaler.json');
  return {
    dir,
    modelType: d.model_type,
    kind: d.kind,
    modelFile: join(dir, d.model_file),
    featureSet: d.feature_set,
    featureNames: d.feature_names,
    numFrames: d.num_frames ?? {},
    ...(d.architecture && d.deep ? { architecture: d.architecture, deep: d.deep } : {}),
    ...(existsSync(scalerPath) ? { scaler: JSON.parse(readFileSync(scalerPath, 'utf8')) as Scaler } : {}),
  };
}

/** The model's feature vector for one video, in its training order. */
async function featureVector(model: LoadedModel, video: string, numFramesOverride: number | undefined): Promise<number[]> {
  // The training features' own sampling unless the caller overrides it; 8 (the seed's default) for old models.
  const numFrames = (stage: 'stage2' | 'stage4') => numFramesOverride ?? model.numFrames[stage] ?? 8;
  const values: Record<string, number | null> = {};
  const needs = (prefix: string) => model.featureNames.some((n) => n.startsWith(prefix));
  const stage2Only = model.featureSet === 'stage2';
  if (stage2Only || needs('s2_')) {
    const f = await extractHandcraftedFeatures(video, { numFrames: numFrames('stage2') });
    for (const [k, v] of Object.entries(f.features)) values[stage2Only ? k : `s2_${k}`] = v;
  }
  if (!stage2Only) {
    const tmp = await mkdtemp(join(tmpdir(), 'fvc-predict-'));
    try {
      const scaled = join(tmp, 'scaled.mp4');
      await scaleVideo(video, scaled, { size: 256 });
      const f = await extractHandcraftedFeatures(scaled, { numFrames: numFrames('stage4') });
      for (const [k, v] of Object.entries(f.features)) values[model.featureSet === 'stage4' ? k : `s4_${k}`] = v;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return model.featureNames.map((n) => {
    const v = values[n];
    if (v === null || v === undefined) throw new FvcError('ERR_INVALID_DATA', `${video}: feature '${n}' cannot be computed for this video, and the model needs it`);
    return v;
  });
}

/** P(fake) per video, in input order. `frameCacheDir`: where a deep model's clips are cached (default FVC_FRAME_CACHE_DIR, else data/cache/frames). */
export async function predictVideos(modelDir: string, videos: readonly string[], options: { numFrames?: number; threads?: number; frameCacheDir?: string } = {}): Promise<Array<{ video: string; prob: number }>> {
  const model = loadModel(modelDir);
  if ((model.kind as string) === 'torch') return predictDeep(model, videos, options.threads ?? 1, options.frameCacheDir);
  const cols = model.featureNames.length;
  const x = new Float64Array(videos.length * cols);
  for (let i = 0; i < videos.length; i++) x.set(await featureVector(model, videos[i] as string, options.numFrames), i * cols);
  const probs = await predictClassical(model.kind, model.modelFile, x, videos.length, cols, model.scaler, options.threads ?? 1);
  return videos.map((video, i) => ({ video, prob: probs[i] as number }));
}

async function predictDeep(model: LoadedModel, videos: readonly string[], threads: number, frameCacheDir?: string): Promise<Array<{ video: string; prob: number }>> {
  const { architecture, deep } = model;
  if (!architecture || !deep) throw new FvcError('ERR_INVALID_DATA', `${join(model.dir, 'model.json')}: a deep model's descriptor needs its architecture and deep options (retrain with this version of fvc)`);
  const layout = MODELS.find((m) => m.architectures?.includes(architecture))?.clipLayout ?? 'rgb';
  const cache = new FrameCache(frameCacheDir);
  const clips = await mapPool(videos, availableParallelism(), async (video) => {
    const e = await cache.get(video, { numFrames: deep.numFrames, size: deep.frameSize, letterbox: layout !== 'rgb+mask' });
    return { npy: e.npyPath, label: 0, ...(layout === 'rgb+flow' ? { flow: await cache.flow(e, deep.flowMethod ?? 'dis') } : {}) };
  });
  const probs = await predictDeepClips({ architecture, checkpoint: model.modelFile, clips, options: deep, threads, device: resolveDevice('auto') });
  return videos.map((video, i) => ({ video, prob: probs[i] as number }));
}
