/**
 * Every Stage 5 model the seed names (5a-5u, 5beta): its family, the inputs it
 * needs and, for those fvc trains, its implementation of the one Stage 5 model
 * interface (model.ts). Adding a model is its implementation plus one entry here.
 */
import { FvcError } from '../errors.js';
import { suggest } from '../util/suggest.js';

export { suggest };
import type { AnyStage5Model } from './model.js';
import { deepModel } from './models/deep-model.js';
import { embeddingModel } from './models/embedding-model.js';
import { ensembleModel } from './models/ensemble-model.js';
import { featureModel } from './models/feature-model.js';

export type Family = 'linear' | 'svm' | 'gradient_boosting' | 'cnn' | 'transformer' | 'video_3d' | 'two_stream' | 'ensemble';
export type Input = 'handcrafted_features' | 'frames' | 'optical_flow' | 'pretrained_features';
export type GridValue = number | string | boolean;

export interface ModelSpec {
  id: string;
  name: string;
  family: Family;
  inputs: readonly Input[];
  /** How fvc trains and applies it; absent for the models still to come. */
  impl?: AnyStage5Model;
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
  impl: featureModel,
  grid,
});
const deep = <I extends string, N extends string>(id: I, name: N, family: Family, architectures: readonly [string, ...string[]], o: { flow?: boolean; pretrained?: boolean } = {}) => ({
  id,
  name,
  family,
  inputs: o.flow ? (['frames', 'optical_flow'] as const) : (['frames'] as const),
  impl: deepModel(o),
  architectures,
  grid: {},
});
const onFeatures = <I extends string, N extends string>(id: I, name: N, backbone: string, foldModel?: string) => ({
  id,
  name,
  family: 'gradient_boosting' as const,
  inputs: ['pretrained_features'] as const,
  impl: embeddingModel({ backbone, ...(foldModel ? { foldModel } : {}) }),
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
  feature('5beta', 'xgboost', 'gradient_boosting', XGB),
  // XGBoost's leaf-wise growth, standing in for LightGBM (not installable here).
  feature('5beta-lossguide', 'xgboost_lossguide', 'gradient_boosting', { ...XGB, max_depth: [0], max_leaves: [31] }),
] as const satisfies readonly ModelSpec[];

/** Every model: the seed's and any registered with registerModel, as plain specs for code that looks models up by string. */
const ALL: ModelSpec[] = [...MODELS];
export const ALL_MODELS: readonly ModelSpec[] = ALL;

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

/**
 * Adds a model to the registry for this process: its spec (name, id, family, inputs,
 * grid) and its Stage5Model implementation. After this, train(), predict, fvc models
 * and SLURM plans treat it as any built-in model. Names and ids must be new.
 */
export function registerModel(spec: ModelSpec & { impl: AnyStage5Model }): ModelSpec {
  for (const [field, value] of [
    ['name', spec.name],
    ['id', spec.id],
  ] as const) {
    if (!/^[A-Za-z0-9][\w-]*$/.test(value)) throw new FvcError('ERR_INVALID_ARGUMENT', `registerModel: ${field} '${value}': use letters, digits, '_' or '-'`);
    const clash = ALL.find((m) => m.name === value || m.id === value);
    if (clash) throw new FvcError('ERR_INVALID_ARGUMENT', `registerModel: ${field} '${value}' is taken by ${clash.name} (${clash.id})`);
  }
  const suffixed = FEATURE_SETS.find((fs) => spec.name.endsWith(`_${fs}`));
  if (suffixed) throw new FvcError('ERR_INVALID_ARGUMENT', `registerModel: name '${spec.name}' ends in a feature-set suffix (_${suffixed})`);
  for (const m of ['fit', 'predict', 'load', 'dataKey', 'settings'] as const)
    if (typeof spec.impl[m] !== 'function') throw new FvcError('ERR_INVALID_ARGUMENT', `registerModel: ${spec.name}: impl.${m} is not a function (see the Stage5Model interface)`);
  for (const [key, values] of Object.entries(spec.grid))
    if (!Array.isArray(values) || !values.length) throw new FvcError('ERR_INVALID_ARGUMENT', `registerModel: ${spec.name}: grid.${key} must be a non-empty list`);
  ALL.push(spec);
  return spec;
}

export const isBuilt = (spec: ModelSpec): boolean => spec.impl !== undefined;

const UNAVAILABLE: Record<string, string> = {
  lightgbm: "LightGBM cannot be installed from this project's package sources (Debian and npm); use xgboost_lossguide, XGBoost with LightGBM-style leaf-wise growth",
  catboost: "CatBoost cannot be installed from this project's package sources (Debian and npm); use xgboost",
};

export interface ResolvedModel {
  spec: ModelSpec;
  impl: AnyStage5Model;
  /** The output folder name: the model name, with the feature set when it is not stage2. */
  modelType: string;
  featureSet: FeatureSet;
  /** The feature set named by a suffix of the request, if any (models on deep features add those handcrafted features). */
  suffix: FeatureSet | null;
  /** Model folders that must be trained first when requested in the same run (a fold-checkpoint backbone, an ensemble's members). */
  after: string[];
}

/** "svm", "5b", "xgboost_stage2_stage4", "gradient_boosting" ... -> the model and its feature set. */
export function resolveModel(requested: string, defaultSet: FeatureSet): ResolvedModel {
  const key = requested.trim();
  if (key.startsWith('ensemble:') || key.startsWith('stack:')) return resolveEnsemble(key, defaultSet);
  // An ensemble's output folder names it too (ensemble_a+b): jobs and resumed runs pass that name.
  const folder = /^(ensemble|stack)_(.+\+.+)$/.exec(key);
  if (folder) return resolveEnsemble(`${folder[1]}:${folder[2]}`, defaultSet);
  let name = key;
  let suffix: FeatureSet | null = null;
  for (const fs of [...FEATURE_SETS].sort((a, b) => b.length - a.length)) {
    if (key.endsWith(`_${fs}`)) {
      name = key.slice(0, -fs.length - 1);
      suffix = fs;
      break;
    }
  }
  const featureSet = suffix ?? defaultSet;
  if (name === 'gradient_boosting') name = 'xgboost';
  const reason = UNAVAILABLE[name];
  if (reason) throw new FvcError('ERR_MODEL_UNAVAILABLE', `model '${requested}': ${reason}`);
  const spec = ALL.find((m) => m.name === name || m.id === name);
  if (!spec) {
    const close = suggest(
      name,
      ALL.map((m) => m.name),
    );
    const built = ALL.filter(isBuilt).map((m) => m.name);
    const later = ALL.filter((m) => !isBuilt(m)).map((m) => m.name);
    throw new FvcError(
      'ERR_INVALID_ARGUMENT',
      `model '${requested}': unknown${close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : ''} (trainable: ${built.join(', ')}${later.length ? `; not built yet: ${later.join(', ')}` : ''})`,
    );
  }
  if (!spec.impl)
    throw new FvcError('ERR_MODEL_UNAVAILABLE', `model '${requested}' (${spec.id}, ${spec.family}, needs ${spec.inputs.join(' + ')}) is not built yet: ${spec.pending ?? 'a later issue brings it'}`);
  const featureModelSet = spec.inputs.includes('handcrafted_features');
  if (suffix && !featureModelSet && !spec.backbone)
    throw new FvcError('ERR_INVALID_ARGUMENT', `model '${requested}': ${spec.name} reads no handcrafted features, so a _${suffix} suffix means nothing`);
  // Feature models keep the seed's names (the set appended unless stage2); a model on deep features names the handcrafted set it adds.
  const modelType = featureModelSet ? (featureSet === 'stage2' ? spec.name : `${spec.name}_${featureSet}`) : suffix ? `${spec.name}_${suffix}` : spec.name;
  return { spec, impl: spec.impl, featureSet, suffix, modelType, after: spec.foldModel ? [spec.foldModel] : [] };
}

/**
 * `ensemble:xgboost+svm+naive_cnn`: the mean of the members' probabilities;
 * `stack:xgboost+svm`: a logistic regression on them, fitted on nested out-of-fold
 * predictions (ensemble-model.ts).
 */
function resolveEnsemble(key: string, defaultSet: FeatureSet): ResolvedModel {
  const rule = key.startsWith('stack:') ? 'stack' : 'mean';
  const names = key
    .slice(key.indexOf(':') + 1)
    .split('+')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length < 2) throw new FvcError('ERR_INVALID_ARGUMENT', `model '${key}': an ensemble needs two or more members, joined by '+' (ensemble:xgboost+svm)`);
  if (names.some((n) => n.startsWith('ensemble') || n.startsWith('stack'))) throw new FvcError('ERR_INVALID_ARGUMENT', `model '${key}': an ensemble's members are models, not ensembles`);
  const members = names.map((n) => resolveModel(n, defaultSet));
  const dup = members.find((m, i) => members.findIndex((o) => o.modelType === m.modelType) !== i);
  if (dup) throw new FvcError('ERR_INVALID_ARGUMENT', `model '${key}': ${dup.modelType} is listed twice`);
  const impl = ensembleModel(members, rule);
  const name = rule === 'stack' ? 'stack' : 'ensemble';
  const spec: ModelSpec = { id: rule === 'stack' ? '5stack' : '5ens', name, family: 'ensemble', inputs: [...new Set(members.flatMap((m) => m.spec.inputs))], impl, grid: {} };
  return { spec, impl, featureSet: members[0]?.featureSet ?? defaultSet, suffix: null, modelType: `${name}_${members.map((m) => m.modelType).join('+')}`, after: members.map((m) => m.modelType) };
}

/** The weights file configured for an architecture or model: one file for all, else by architecture, model name or id. */
export function weightsFileFor(weights: string | Readonly<Record<string, string>> | undefined, architecture: string, spec: ModelSpec): string | undefined {
  if (typeof weights === 'string' || weights === undefined) return weights;
  return weights[architecture] ?? weights[spec.name] ?? weights[spec.id];
}

/**
 * Whether a model on deep features reads embeddings extracted once for every fold
 * (a weights file, or random weights when asked for) rather than each fold's own
 * checkpoint of its fold model. Pipelines give the former its own extraction job.
 */
export function readsSharedExtraction(spec: ModelSpec, weights: string | Readonly<Record<string, string>> | undefined): boolean {
  if (!spec.backbone) return false;
  return weightsFileFor(weights, spec.backbone, spec) !== undefined || !spec.foldModel;
}

/** Each model after the requested ones it reads (`after`), otherwise in the order asked. */
export function inDependencyOrder<M extends { modelType: string; after: readonly string[] }>(models: readonly M[]): M[] {
  const out: M[] = [];
  const pending = [...models];
  while (pending.length) {
    const i = pending.findIndex((m) => m.after.every((a) => !pending.some((o) => o !== m && o.modelType === a)));
    const [next] = pending.splice(i < 0 ? 0 : i, 1);
    out.push(next as M);
  }
  return out;
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
    const target = ALL.find((m) => m.name === key || m.id === key);
    if (!target?.architectures)
      throw new FvcError(
        'ERR_INVALID_ARGUMENT',
        `deep.architectures.${key}: not a native deep model (${ALL.filter((m) => m.architectures)
          .map((m) => m.name)
          .join(', ')})`,
      );
    const chosen = choices[key] as string;
    if (!target.architectures.includes(chosen))
      throw new FvcError('ERR_INVALID_ARGUMENT', `deep.architectures.${key}: '${chosen}' cannot serve ${target.name} (${target.id}); choose one of ${target.architectures.join(', ')}`);
  }
  const fallback = spec.architectures?.[0];
  if (!fallback) throw new FvcError('ERR_INVALID_ARGUMENT', `${spec.name} (${spec.id}) is not a native deep model`);
  return choices[spec.name] ?? choices[spec.id] ?? fallback;
}
