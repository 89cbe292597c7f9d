/**
 * Every Stage 5 model the seed names (5a-5u, 5beta): its family, the inputs it
 * needs and, for those fvc trains, its implementation of the one Stage 5 model
 * interface (model.ts). Adding a model is its implementation plus one entry here.
 */
import { FvcError } from '../errors.js';
import { suggest } from '../util/suggest.js';

export { suggest };
// The catalogue's types and lookups, where code has always found them.
export * from './catalogue.js';

function implementation(build: ModelBuild): AnyStage5Model {
  switch (build.kind) {
    case 'features':
      return featureModel;
    case 'deep':
      return deepModel(build);
    case 'embedding':
      return embeddingModel(build);
  }
}

// The seed's models, each with its implementation.
ALL.push(...MODELS.map((m): ModelSpec => ('build' in m ? { ...m, impl: implementation(m.build) } : m)));

import type { AnyStage5Model } from './model.js';
import { ALL, FEATURE_SETS, isBuilt, MODELS, type FeatureSet, type ModelBuild, type ModelSpec, type ResolvedModel } from './catalogue.js';
import { deepModel } from './implementations/deep-model.js';
import { embeddingModel } from './implementations/embedding-model.js';
import { ensembleModel } from './implementations/ensemble-model.js';
import { featureModel } from './implementations/feature-model.js';

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

const UNAVAILABLE: Record<string, string> = {
  lightgbm: "LightGBM cannot be installed from this project's package sources (Debian and npm); use xgboost_lossguide, XGBoost with LightGBM-style leaf-wise growth",
  catboost: "CatBoost cannot be installed from this project's package sources (Debian and npm); use xgboost",
};

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
