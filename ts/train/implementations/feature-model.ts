/**
 * Models on handcrafted features (5a logistic regression, 5b SVM, 5beta XGBoost):
 * Stage 2 / Stage 4 features or a user's own table, fitted natively; prediction
 * computes the same features for new videos.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FvcError } from '../../errors.js';
import { extractHandcraftedFeatures } from '../../features/handcrafted.js';
import { native, type ModelKind } from '../../native/binding.js';
import { scaleVideo } from '../../video/scale.js';
import { fitClassical, predictClassical, xgboostDevice } from '../classical.js';
import { loadFeatureTable, loadStageFeatures } from '../dataset.js';
import type { BestModel, Stage5Model } from '../model.js';
import { takeRows } from '../scaler.js';

/** The model's feature vector for one video, in its training order. */
async function featureVector(best: BestModel, video: string, numFramesOverride: number | undefined): Promise<number[]> {
  const d = best.descriptor as { feature_set: string; feature_names: string[]; num_frames?: { stage2?: number; stage4?: number } | null };
  // The training features' own sampling unless the caller overrides it; 8 (the seed's default) for old models.
  const numFrames = (stage: 'stage2' | 'stage4') => numFramesOverride ?? d.num_frames?.[stage] ?? 8;
  const values: Record<string, number | null> = {};
  const needs = (prefix: string) => d.feature_names.some((n) => n.startsWith(prefix));
  const stage2Only = d.feature_set === 'stage2';
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
      for (const [k, v] of Object.entries(f.features)) values[d.feature_set === 'stage4' ? k : `s4_${k}`] = v;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return d.feature_names.map((n) => {
    const v = values[n];
    if (v === null || v === undefined) throw new FvcError('ERR_INVALID_DATA', `${video}: feature '${n}' cannot be computed for this video, and the model needs it`);
    return v;
  });
}

/** Handcrafted feature vectors of videos, as a best_model trained on them expects. */
export async function handcraftedMatrix(best: BestModel, videos: readonly string[], numFrames: number | undefined): Promise<Float64Array> {
  const cols = (best.descriptor.feature_names as string[]).length;
  const x = new Float64Array(videos.length * cols);
  for (let i = 0; i < videos.length; i++) x.set(await featureVector(best, videos[i] as string, numFrames), i * cols);
  return x;
}

export const featureModel: Stage5Model = {
  resumable: false,
  // Of the feature models only XGBoost's can use a GPU (liblinear and libsvm run on the CPU whatever is asked).
  checkDevice: ({ model, cfg }) => {
    if (model.spec.family === 'gradient_boosting') xgboostDevice(cfg.device, native.xgboostInfo(), () => native.resolveDevice('auto') === 'cuda');
  },
  dataKey: async ({ cfg, model }) => (cfg.features ? `features:${cfg.features.path}` : `stage:${model.featureSet}`),
  load: async ({ cfg, model }) => {
    const f = cfg.features;
    return f ? loadFeatureTable(f.path, f.labelColumn, f.groupColumn, f.idColumn) : loadStageFeatures(model.featureSet, cfg.stage2Dir, cfg.stage4Dir);
  },
  settings: async () => ({}),
  fit: async ({ model, params, data, fold, dir, cfg }) => {
    const fitted = await fitClassical(model.spec, params, data, fold.train, dir, { seed: cfg.seed + fold.fold, threads: cfg.threads, device: cfg.device });
    const valX = takeRows(data.x, fold.val, data.cols, fitted.scaler);
    const probs = await predictClassical(fitted.kind, join(dir, fitted.file), valX, fold.val.length, data.cols, undefined, cfg.threads);
    return { ...fitted, probs };
  },
  predict: async (best, videos, o) => {
    const cols = (best.descriptor.feature_names as string[]).length;
    const x = await handcraftedMatrix(best, videos, o.numFrames);
    return predictClassical(best.kind as ModelKind, best.modelFile, x, videos.length, cols, best.scaler, o.threads);
  },
};
