/**
 * Fitting and applying the feature-based models (5a, 5b, 5beta): the registry's
 * parameters mapped onto each native library, standardisation for the linear
 * and kernel models, an early-stopping split for XGBoost.
 */
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { native, type ModelKind, type XgboostInfo } from '../native/binding.js';
import type { DeviceRequest } from '../runtime.js';
import { Rng } from '../util/rng.js';
import type { ModelSpec } from './model.js';
import type { GridValue } from './spec.js';
import { fitScaler, takeRows, type Scaler } from './scaler.js';

export interface FittedModel {
  kind: ModelKind;
  /** File name inside the fold folder. */
  file: string;
  scaler?: Scaler;
  /** XGBoost: round kept by early stopping, and gain importance per feature. */
  bestIteration?: number;
  importance?: number[];
  /** XGBoost: the early-stopping split's metric after each round. */
  rounds?: { metric: string; values: number[] };
  nativeParams: Record<string, string | number | boolean>;
}

export function modelKind(spec: ModelSpec): ModelKind {
  return spec.family === 'linear' ? 'logistic_regression' : spec.family === 'svm' ? 'svm' : 'xgboost';
}

export const MODEL_FILES: Record<ModelKind, string> = { logistic_regression: 'model.liblinear', svm: 'model.libsvm', xgboost: 'xgboost_model.json' };

export type Device = DeviceRequest;

export interface FitOptions {
  seed: number;
  threads: number;
  device: Device;
}

/**
 * XGBoost's device parameters for the libxgboost in use: 2.x and later take
 * `device` (with tree_method hist); 1.x has no such parameter and selects the
 * GPU through tree_method gpu_hist.
 */
export function xgboostDevice(device: Device, info: XgboostInfo, gpuPresent: () => boolean): Record<string, string> {
  const index = /^cuda:(\d+)$/.exec(device)?.[1];
  const cuda = device === 'cuda' || index !== undefined || (device === 'auto' && info.cuda && gpuPresent());
  if (cuda && !info.cuda)
    throw new FvcError(
      'ERR_INVALID_ARGUMENT',
      `device ${device === 'auto' ? 'cuda' : device}: libxgboost ${info.version} was built without CUDA (build it with -DUSE_CUDA=ON and point XGBOOST_ROOT at it)`,
    );
  if (info.major >= 2) return { tree_method: 'hist', device: cuda ? (index ? `cuda:${index}` : 'cuda') : 'cpu' };
  // 1.x names the GPU by gpu_id.
  return { tree_method: cuda ? 'gpu_hist' : 'hist', ...(index ? { gpu_id: index } : {}) };
}

function xgbParams(p: Record<string, GridValue>, o: FitOptions): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {
    objective: 'binary:logistic',
    ...xgboostDevice(o.device, native.xgboostInfo(), () => native.resolveDevice('auto') === 'cuda'),
    eval_metric: 'logloss',
    seed: o.seed,
    nthread: o.threads,
    num_boost_round: Number(p.n_estimators ?? 100),
    early_stopping_rounds: Number(p.early_stopping_rounds ?? 10),
  };
  const rename: Record<string, string> = {
    learning_rate: 'eta',
    max_depth: 'max_depth',
    subsample: 'subsample',
    colsample_bytree: 'colsample_bytree',
    max_leaves: 'max_leaves',
    min_child_weight: 'min_child_weight',
    reg_lambda: 'lambda',
    reg_alpha: 'alpha',
    gamma: 'gamma',
  };
  for (const [k, v] of Object.entries(p)) if (rename[k]) out[rename[k] as string] = v;
  if (p.max_leaves !== undefined) out.grow_policy = 'lossguide';
  return out;
}

/** A tenth of the training rows (at least one of each class) held out for early stopping, seeded. */
function earlyStoppingSplit(train: readonly number[], labels: readonly number[], seed: number): { fit: number[]; stop: number[] } {
  const rng = new Rng(seed ^ 0x5eed);
  const stop: number[] = [];
  for (const cls of [0, 1]) {
    const rows = rng.shuffle(train.filter((i) => labels[i] === cls));
    stop.push(...rows.slice(0, Math.max(1, Math.round(rows.length * 0.1))));
  }
  const held = new Set(stop);
  return { fit: train.filter((i) => !held.has(i)), stop: stop.sort((a, b) => a - b) };
}

export async function fitClassical(
  spec: ModelSpec,
  params: Record<string, GridValue>,
  data: { x: Float64Array; labels: readonly number[]; cols: number; featureNames?: readonly string[] },
  train: readonly number[],
  dir: string,
  options: FitOptions,
): Promise<FittedModel> {
  const { seed } = options;
  const kind = modelKind(spec);
  const file = MODEL_FILES[kind];
  const ys = (rows: readonly number[]) => Float64Array.from(rows, (i) => data.labels[i] as number);
  if (kind === 'xgboost') {
    const nativeParams = xgbParams(params, options);
    const { fit, stop } = earlyStoppingSplit(train, data.labels, seed);
    const r = await native.fitModel({
      kind,
      output: join(dir, file),
      params: nativeParams,
      x: takeRows(data.x, fit, data.cols),
      y: ys(fit),
      rows: fit.length,
      cols: data.cols,
      evalX: takeRows(data.x, stop, data.cols),
      evalY: ys(stop),
      evalRows: stop.length,
    });
    return {
      kind,
      file,
      nativeParams,
      ...(r.bestIteration !== undefined ? { bestIteration: r.bestIteration } : {}),
      importance: Array.from(r.importance ?? []),
      ...(r.evalHistory ? { rounds: { metric: String(nativeParams.eval_metric), values: Array.from(r.evalHistory) } } : {}),
    };
  }
  const scaler = fitScaler(data.x, train, data.cols, data.featureNames);
  const nativeParams: Record<string, string | number | boolean> = kind === 'svm' ? { gamma: 'scale', kernel: 'rbf', ...params, seed } : { ...params };
  await native.fitModel({ kind, output: join(dir, file), params: nativeParams, x: takeRows(data.x, train, data.cols, scaler), y: ys(train), rows: train.length, cols: data.cols });
  return { kind, file, scaler, nativeParams };
}

export async function predictClassical(kind: ModelKind, modelPath: string, x: Float64Array, rows: number, cols: number, scaler: Scaler | undefined, threads: number): Promise<Float64Array> {
  const all = Array.from({ length: rows }, (_, i) => i);
  return native.predictModel({ kind, model: modelPath, x: scaler ? takeRows(x, all, cols, scaler) : x, rows, cols, threads });
}
