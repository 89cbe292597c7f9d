/**
 * The Stage 5 models as data: the seed's 5a-5u and 5beta and the detectors added
 * beyond it (id, name, family, inputs, grid, the native architectures or backbone),
 * the feature sets, and the names train() accepts. Imports nothing, so the run
 * configuration, the datasets and the model interface can all name models.
 */

export type Family = 'linear' | 'svm' | 'gradient_boosting' | 'cnn' | 'transformer' | 'video_3d' | 'two_stream' | 'ensemble';
export type Input = 'handcrafted_features' | 'frames' | 'optical_flow' | 'pretrained_features';
export type GridValue = number | string | boolean;

/** How registry.ts builds a listed model's implementation. */
export type ModelBuild = { kind: 'features' } | { kind: 'deep'; flow?: boolean; pretrained?: boolean } | { kind: 'embedding'; backbone: string; foldModel?: string };

/** What a model is, as the catalogue lists it; how it is built is `build` (registry.ts turns that into its implementation). */
export interface ModelEntry {
  id: string;
  name: string;
  family: Family;
  inputs: readonly Input[];
  /** Which implementation registry.ts gives it; absent for the models still to come and for those registered with their own. */
  build?: ModelBuild;
  /** What brings a model that is not built yet. */
  pending?: string;
  /** Deep models: every native architecture that can serve it, the default first (config deep.architectures picks one). */
  architectures?: readonly string[];
  /** Models on deep features: the backbone whose embeddings they read. */
  backbone?: string;
  /** Models on deep features: the Stage 5 model whose fold checkpoints serve as the backbone when no weights file is given. */
  foldModel?: string;
  /** Hyper-parameter grid searched by cross-validation (every combination). */
  grid: Record<string, GridValue[]>;
}

// The seed's XGBoost defaults: one point, no search.
const XGB = { n_estimators: [100], max_depth: [5], learning_rate: [0.1], subsample: [0.8], colsample_bytree: [0.8] };

const feature = <I extends string, N extends string>(id: I, name: N, family: Family, grid: Record<string, GridValue[]>) => ({
  id,
  name,
  family,
  inputs: ['handcrafted_features'] as const,
  build: { kind: 'features' } as const,
  grid,
});
const deep = <I extends string, N extends string>(id: I, name: N, family: Family, architectures: readonly [string, ...string[]], o: { flow?: boolean; pretrained?: boolean } = {}) => ({
  id,
  name,
  family,
  inputs: o.flow ? (['frames', 'optical_flow'] as const) : (['frames'] as const),
  build: { kind: 'deep', ...o } as const,
  architectures,
  grid: {},
});
const onFeatures = <I extends string, N extends string>(id: I, name: N, backbone: string, foldModel?: string) => ({
  id,
  name,
  family: 'gradient_boosting' as const,
  inputs: ['pretrained_features'] as const,
  build: { kind: 'embedding', backbone, ...(foldModel ? { foldModel } : {}) } as const,
  backbone,
  ...(foldModel ? { foldModel } : {}),
  grid: XGB,
});
// The transformers at ViT-B/16 (published) and on ViT-S/16 and ViT-Ti/16 backbones for CPU work.
const vitSizes = <A extends string>(a: A) => [a, `${a}_s16`, `${a}_ti16`] as const;

export const MODELS = [
  feature('5a', 'logistic_regression', 'linear', { C: [0.1, 1, 10] }),
  feature('5b', 'svm', 'svm', { C: [0.1, 1, 10], kernel: ['linear', 'rbf'] }),
  deep('5c', 'naive_cnn', 'cnn', ['naive_cnn']),
  deep('5d', 'pretrained_inception', 'cnn', ['inception_v3'], { pretrained: true }),
  deep('5e', 'variable_ar_cnn', 'cnn', ['variable_ar_cnn']),
  onFeatures('5f', 'xgboost_pretrained_inception', 'inception_v3'),
  onFeatures('5g', 'xgboost_i3d', 'i3d_r50', 'i3d'),
  onFeatures('5h', 'xgboost_r2plus1d', 'r2plus1d_18', 'r2plus1d'),
  onFeatures('5i', 'xgboost_vit_gru', 'vit_gru', 'vit_gru'),
  onFeatures('5j', 'xgboost_vit_transformer', 'vit_transformer', 'vit_transformer'),
  deep('5k', 'vit_gru', 'transformer', vitSizes('vit_gru')),
  deep('5l', 'vit_transformer', 'transformer', vitSizes('vit_transformer')),
  deep('5m', 'timesformer', 'transformer', vitSizes('timesformer')),
  deep('5n', 'vivit', 'transformer', vitSizes('vivit')),
  deep('5o', 'i3d', 'video_3d', ['i3d_r50']),
  deep('5p', 'r2plus1d', 'video_3d', ['r2plus1d_18', 'r3d_18', 'mc3_18']),
  deep('5q', 'x3d', 'video_3d', ['x3d_s', 'x3d_xs', 'x3d_m']),
  deep('5r', 'slowfast', 'video_3d', ['slowfast_r50']),
  deep('5s', 'slowfast_attention', 'video_3d', ['slowfast_attention']),
  deep('5t', 'slowfast_multiscale', 'video_3d', ['slowfast_multiscale']),
  deep('5u', 'two_stream', 'two_stream', ['two_stream'], { flow: true }),
  // Beyond the seed: detectors built for forgery traces and trained from scratch (DeepfakeBench's Meso4, MesoIncep, SRM; Bayar & Stamm).
  deep('meso4', 'meso4', 'cnn', ['meso4']),
  deep('meso_inception4', 'meso_inception4', 'cnn', ['meso_inception4']),
  deep('srm_cnn', 'srm_cnn', 'cnn', ['srm_cnn']),
  deep('constrained_cnn', 'constrained_cnn', 'cnn', ['constrained_cnn']),
  // fvc's own: local traces against the frame, the clip and the adjacent frame, at the videos' own size (the demo's deep model).
  deep('trace_cnn', 'trace_cnn', 'cnn', ['trace_cnn']),
  feature('5beta', 'xgboost', 'gradient_boosting', XGB),
  // XGBoost's leaf-wise growth, standing in for LightGBM (not installable here).
  feature('5beta-lossguide', 'xgboost_lossguide', 'gradient_boosting', { ...XGB, max_depth: [0], max_leaves: [31] }),
] as const satisfies readonly ModelEntry[];

export const FEATURE_SETS = ['stage2', 'stage4', 'stage2_stage4'] as const;
export type FeatureSet = (typeof FEATURE_SETS)[number];

/**
 * Models a project adds with registerModel declare their names here by declaration
 * merging, so train() type-checks them as it does the built-in ones:
 *   declare module 'fvc' { interface CustomModels { nearest_centroid: true } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface CustomModels {}
type CustomName = Extract<keyof CustomModels, string>;

/** Every model name the registry knows. */
export type ModelName = (typeof MODELS)[number]['name'] | CustomName;
export type ModelId = (typeof MODELS)[number]['id'];
/** What `train({ models })` takes: a name or id, a name with a feature-set suffix, or the family alias. */
export type ModelRequest = ModelName | ModelId | `${ModelName}_${FeatureSet}` | 'gradient_boosting' | `ensemble:${string}` | `stack:${string}`;
