/**
 * Inference with a trained model (any best_model/ folder): model.json names the
 * Stage 5 model, and its implementation computes what it was trained on for the
 * new videos (handcrafted features, frame-cache clips, or a backbone's features)
 * before applying the saved model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { resolveDevice, type DeviceRequest } from '../runtime.js';
import type { BestModel } from './model.js';
import { ALL_MODELS, resolveModel, type ModelSpec } from './registry.js';
import { verifyDescriptor, verifyDigests } from './model-digest.js';
import { checkScaler, type Scaler } from './scaler.js';

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FvcError('ERR_INVALID_DATA', `${path}: not readable JSON (${(err as Error).message})`);
  }
}

/** A best_model/ folder as predict() sees it: its descriptor and files. */
export function loadModel(dir: string): BestModel & { spec: ModelSpec } {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: no such file (--model takes a trained model's best_model folder)`);
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new FvcError('ERR_INVALID_DATA', `${path}: not valid JSON (${(err as Error).message})`);
  }
  const all = ALL_MODELS;
  const modelType = String(d.model_type);
  // model_id since this version; older descriptors only have the type (name plus feature-set suffix).
  const spec =
    d.kind === 'ensemble' && Array.isArray(d.members)
      ? resolveModel(`${d.rule === 'stack' ? 'stack' : 'ensemble'}:${(d.members as string[]).join('+')}`, 'stage2').spec
      : (all.find((m) => m.id === d.model_id) ?? all.find((m) => modelType === m.name || modelType.startsWith(`${m.name}_stage`)));
  if (!spec?.impl) throw new FvcError('ERR_INVALID_DATA', `${path}: model '${modelType}' is not one this version of fvc can apply`);
  const scalerPath = join(dir, 'scaler.json');
  const model = {
    dir: resolve(dir),
    spec,
    modelType,
    kind: String(d.kind),
    modelFile: join(resolve(dir), String(d.model_file)),
    descriptor: d,
    ...(existsSync(scalerPath) ? { scaler: checkScaler(readJsonFile(scalerPath) as Partial<Scaler>, scalerPath, Array.isArray(d.feature_names) ? d.feature_names.length : undefined) } : {}),
  };
  verifyDescriptor(d, path);
  verifyDigests(model.dir, d.file_sha256, path);
  return model;
}

export interface PredictVideosOptions {
  /** Feature models: frames per video for the handcrafted features (default: the training features'). */
  numFrames?: number;
  threads?: number;
  /** Where clips are cached (default FVC_FRAME_CACHE_DIR, else data/cache/frames). */
  frameCacheDir?: string;
  /** Where deep-feature tables are kept (default FVC_FEATURES_DIR, else data/features). */
  featuresDir?: string;
  device?: DeviceRequest;
}

/** P(fake) per video, in input order. */
export async function predictVideos(modelDir: string, videos: readonly string[], options: PredictVideosOptions = {}): Promise<Array<{ video: string; prob: number }>> {
  const best = loadModel(modelDir);
  const probs = await (best.spec.impl as NonNullable<ModelSpec['impl']>).predict(best, videos, {
    threads: options.threads ?? 1,
    device: resolveDevice(options.device ?? 'auto'),
    ...(options.numFrames === undefined ? {} : { numFrames: options.numFrames }),
    ...(options.frameCacheDir ? { frameCacheDir: options.frameCacheDir } : {}),
    ...(options.featuresDir ? { featuresDir: options.featuresDir } : {}),
    saved: {
      check: (dir) => void loadModel(dir),
      predict: async (dir, vs) => Float64Array.from(await predictVideos(dir, vs, options), (x) => x.prob),
    },
  });
  return videos.map((video, i) => ({ video, prob: probs[i] as number }));
}
