/**
 * The Stage 5 catalogue: what a model is (id, name, family, inputs, grid, the native
 * architectures or backbone it uses) and the lookups over every known model. It holds
 * no implementation: registry.ts fills it with the seed's models and their Stage5Model
 * implementations (and registerModel with a project's), so the implementations can
 * look models up here without importing the registry that imports them.
 */
import { FvcError } from '../errors.js';
import type { ModelSpec } from './model.js';
import type { GridValue } from './spec.js';

export type { ModelSpec, ResolvedModel } from './model.js';
export * from './spec.js';

/** Every model: the seed's (added by registry.ts) and any registered with registerModel, for code that looks models up by string. */
export const ALL: ModelSpec[] = [];
export const ALL_MODELS: readonly ModelSpec[] = ALL;

export const isBuilt = (spec: ModelSpec): boolean => spec.impl !== undefined;

/** The model with this name or id, if any. */
export const specOf = (nameOrId: string): ModelSpec | undefined => ALL.find((m) => m.name === nameOrId || m.id === nameOrId);

/**
 * The Stage 5 id a native architecture serves (5p has three depths of one family, 5q
 * three sizes), or null for an architecture no Stage 5 model uses.
 */
export function stage5IdOf(architecture: string): string | null {
  return ALL.find((m) => m.architectures?.includes(architecture))?.id ?? null;
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

/** Why `only: 'extract'` cannot prepare this model's data once for every fold, or null when it can. */
export function sharedExtractionRefusal(spec: ModelSpec, weights: string | Readonly<Record<string, string>> | undefined): string | null {
  if (readsSharedExtraction(spec, weights)) return null;
  return spec.backbone ? `its backbone is ${spec.foldModel}'s fold checkpoints, extracted in its own fold jobs` : 'reads no deep features';
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
