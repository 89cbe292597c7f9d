/**
 * Where a run's outputs are, for the commands that read one (query, report, plots,
 * compare, evaluate, predict): the flags, else the run configuration given with
 * --config (the file `fvc train` and `fvc pipeline` ran from), else the environment
 * and defaults.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadRunConfig, trainOptionsOf } from '../config/run-config.js';
import { resolveModel } from '../train/registry.js';

export interface RunSourceFlags {
  config?: string;
  outputDir?: string;
  stage1Dir?: string;
  stage2Dir?: string;
  stage3Dir?: string;
  stage4Dir?: string;
  frameCacheDir?: string;
  featuresDir?: string;
}

export const configOption = (cmd: Command): Command => cmd.option('--config <file>', 'the run configuration (YAML or JSON) the run was trained from: its folders are read from it');

/** The flags, filled in from the run configuration where they were not given. */
export async function runSources<T extends RunSourceFlags>(o: T): Promise<T> {
  if (!o.config) return o;
  const c = await loadRunConfig(o.config);
  const t = trainOptionsOf(c) as { outputDir?: string; stage2Dir?: string; stage3Dir?: string; stage4Dir?: string; frameCacheDir?: string; featuresDir?: string };
  const pick = <K extends keyof RunSourceFlags>(k: K, v: string | undefined) => (o[k] ?? v) as T[K];
  return {
    ...o,
    outputDir: pick('outputDir', t.outputDir),
    stage1Dir: pick('stage1Dir', c.dirs?.stage1),
    stage2Dir: pick('stage2Dir', t.stage2Dir),
    stage3Dir: pick('stage3Dir', t.stage3Dir),
    stage4Dir: pick('stage4Dir', t.stage4Dir),
    frameCacheDir: pick('frameCacheDir', t.frameCacheDir),
    featuresDir: pick('featuresDir', t.featuresDir),
  };
}

export const stage5DirOf = (o: RunSourceFlags) => o.outputDir ?? process.env.FVC_STAGE5_OUTPUT_DIR ?? 'data/stage5';

/**
 * A model's folder under the run's output: its folder name, or the request that
 * trained it (`ensemble:a+b` is the folder `ensemble_a+b`).
 */
export function modelFolder(stage5Dir: string, model: string): string {
  if (existsSync(join(stage5Dir, model))) return model;
  try {
    return resolveModel(model, 'stage2').modelType;
  } catch {
    return model; // the caller reports the missing folder
  }
}

/** `--model`: a best_model folder as given, else a model of the run (its best_model/). */
export function bestModelDir(model: string, o: RunSourceFlags): string {
  if (existsSync(model) || !o.config) return model;
  const stage5 = stage5DirOf(o);
  return join(stage5, modelFolder(stage5, model), 'best_model');
}
