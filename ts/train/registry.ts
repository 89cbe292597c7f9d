/**
 * Every Stage 5 model the seed names (5a-5u, 5beta), with its family and the
 * inputs it needs. Only models marked built can be trained; asking for another
 * says which issue brings it.
 */
import { FvcError } from '../errors.js';
import type { ClipLayout } from '../native/binding.js';

export type Family = 'linear' | 'svm' | 'gradient_boosting' | 'cnn' | 'transformer' | 'video_3d' | 'two_stream';
export type Input = 'handcrafted_features' | 'frames' | 'optical_flow' | 'pretrained_features';
export type GridValue = number | string | boolean;

export interface ModelSpec {
  id: string;
  name: string;
  family: Family;
  inputs: Input[];
  built: boolean;
  /** Deep models: the native architecture that serves it by default (fvc models lists them). */
  architecture?: string;
  /** Deep models: every native architecture that can serve it (config deep.architectures picks one). */
  architectures?: readonly string[];
  /** Deep models: what their clips hold (the native registry says the same; a test checks). */
  clipLayout?: ClipLayout;
  /** Hyper-parameter grid searched by cross-validation (every combination). */
  grid: Record<string, GridValue[]>;
}

const feature = (id: string, name: string, family: Family, grid: Record<string, GridValue[]>): ModelSpec => ({ id, name, family, inputs: ['handcrafted_features'], built: true, grid });
const deep = (id: string, name: string, family: Family, inputs: Input[] = ['frames']): ModelSpec => ({ id, name, family, inputs, built: false, grid: {} });
const native = (id: string, name: string, family: Family, architectures: [string, ...string[]], clipLayout: ClipLayout = 'rgb'): ModelSpec => ({
  id,
  name,
  family,
  inputs: clipLayout === 'rgb+flow' ? ['frames', 'optical_flow'] : ['frames'],
  built: true,
  architecture: architectures[0],
  architectures,
  clipLayout,
  grid: {},
});

// The seed's XGBoost defaults: one point, no search.
const XGB = { n_estimators: [100], max_depth: [5], learning_rate: [0.1], subsample: [0.8], colsample_bytree: [0.8] };

export const MODELS: readonly ModelSpec[] = [
  feature('5a', 'logistic_regression', 'linear', { C: [0.1, 1, 10] }),
  feature('5b', 'svm', 'svm', { C: [0.1, 1, 10], kernel: ['linear', 'rbf'] }),
  native('5c', 'naive_cnn', 'cnn', ['naive_cnn']),
  deep('5d', 'pretrained_inception', 'cnn'),
  native('5e', 'variable_ar_cnn', 'cnn', ['variable_ar_cnn'], 'rgb+mask'),
  deep('5f', 'xgboost_pretrained_inception', 'gradient_boosting', ['pretrained_features']),
  deep('5g', 'xgboost_i3d', 'gradient_boosting', ['pretrained_features']),
  deep('5h', 'xgboost_r2plus1d', 'gradient_boosting', ['pretrained_features']),
  deep('5i', 'xgboost_vit_gru', 'gradient_boosting', ['pretrained_features']),
  deep('5j', 'xgboost_vit_transformer', 'gradient_boosting', ['pretrained_features']),
  deep('5k', 'vit_gru', 'transformer'),
  deep('5l', 'vit_transformer', 'transformer'),
  deep('5m', 'timesformer', 'transformer'),
  deep('5n', 'vivit', 'transformer'),
  native('5o', 'i3d', 'video_3d', ['i3d_r50']),
  native('5p', 'r2plus1d', 'video_3d', ['r2plus1d_18', 'r3d_18', 'mc3_18']),
  native('5q', 'x3d', 'video_3d', ['x3d_s', 'x3d_xs', 'x3d_m']),
  native('5r', 'slowfast', 'video_3d', ['slowfast_r50']),
  native('5s', 'slowfast_attention', 'video_3d', ['slowfast_attention']),
  native('5t', 'slowfast_multiscale', 'video_3d', ['slowfast_multiscale']),
  native('5u', 'two_stream', 'two_stream', ['two_stream'], 'rgb+flow'),
  feature('5beta', 'xgboost', 'gradient_boosting', XGB),
  // XGBoost's leaf-wise growth, standing in for LightGBM (not installable here).
  feature('5beta-lossguide', 'xgboost_lossguide', 'gradient_boosting', { ...XGB, max_depth: [0], max_leaves: [31] }),
];

const UNAVAILABLE: Record<string, string> = {
  lightgbm: 'LightGBM cannot be installed from this project\'s package sources (Debian and npm); use xgboost_lossguide, XGBoost with LightGBM-style leaf-wise growth',
  catboost: 'CatBoost cannot be installed from this project\'s package sources (Debian and npm); use xgboost',
};

export const FEATURE_SETS = ['stage2', 'stage4', 'stage2_stage4'] as const;
export type FeatureSet = (typeof FEATURE_SETS)[number];

export interface ResolvedModel {
  spec: ModelSpec;
  /** The output folder name: the model name, with the feature set when it is not stage2. */
  modelType: string;
  featureSet: FeatureSet;
}

/** "svm", "5b", "xgboost_stage2_stage4", "gradient_boosting" ... -> the model and its feature set. */
export function resolveModel(requested: string, defaultSet: FeatureSet): ResolvedModel {
  const key = requested.trim();
  let name = key;
  let featureSet = defaultSet;
  for (const fs of [...FEATURE_SETS].sort((a, b) => b.length - a.length)) {
    if (key.endsWith(`_${fs}`)) {
      name = key.slice(0, -fs.length - 1);
      featureSet = fs;
      break;
    }
  }
  if (name === 'gradient_boosting') name = 'xgboost';
  const reason = UNAVAILABLE[name];
  if (reason) throw new FvcError('ERR_MODEL_UNAVAILABLE', `model '${requested}': ${reason}`);
  const spec = MODELS.find((m) => m.name === name || m.id === name);
  if (!spec) throw new FvcError('ERR_INVALID_ARGUMENT', `model '${requested}': unknown (known: ${MODELS.map((m) => m.name).join(', ')})`);
  if (!spec.built)
    throw new FvcError('ERR_MODEL_UNAVAILABLE', `model '${requested}' (${spec.id}, ${spec.family}, needs ${spec.inputs.join(' + ')}) is not built yet: the deep-learning engine (LibTorch) brings it`);
  return { spec, featureSet, modelType: featureSet === 'stage2' ? spec.name : `${spec.name}_${featureSet}` };
}

/** Every combination of a grid, keys in a stable order. */
export function gridPoints(grid: Record<string, GridValue[]>): Array<Record<string, GridValue>> {
  let points: Array<Record<string, GridValue>> = [{}];
  for (const key of Object.keys(grid).sort()) points = points.flatMap((p) => (grid[key] ?? []).map((v) => ({ ...p, [key]: v })));
  return points;
}

/**
 * The native architecture that serves a deep model: `choices` (config
 * deep.architectures, by model name or id) or the model's default.
 */
export function architectureFor(spec: ModelSpec, choices: Readonly<Record<string, string>>): string {
  for (const key of Object.keys(choices)) {
    const target = MODELS.find((m) => m.name === key || m.id === key);
    if (!target?.architectures) throw new FvcError('ERR_INVALID_ARGUMENT', `deep.architectures.${key}: not a native deep model (${MODELS.filter((m) => m.architectures).map((m) => m.name).join(', ')})`);
    const chosen = choices[key] as string;
    if (!target.architectures.includes(chosen)) throw new FvcError('ERR_INVALID_ARGUMENT', `deep.architectures.${key}: '${chosen}' cannot serve ${target.name} (${target.id}); choose one of ${target.architectures.join(', ')}`);
  }
  if (!spec.architecture) throw new FvcError('ERR_INVALID_ARGUMENT', `${spec.name} (${spec.id}) is not a native deep model`);
  return choices[spec.name] ?? choices[spec.id] ?? spec.architecture;
}
