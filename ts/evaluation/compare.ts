/**
 * `fvc compare A B`: two models' out-of-fold predictions of the same videos (the same
 * data and folds), their AUCs, DeLong's test of the difference and a bootstrap
 * interval of it, so a ranking of models comes with its uncertainty.
 */
import { FOLD_FILES, foldDir, foldsIn } from './fold-layout.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { readFoldPredictions } from './predictions.js';
import { rocAuc } from './metrics.js';
import { bootstrapInterval, delongTest, type BootstrapOptions, type DelongResult } from './stats.js';

export interface Comparison extends DelongResult {
  models: [string, string];
  videos: number;
  /** Bootstrap interval of aucA - aucB, resampling whole sources (videos where the predictions record none). */
  interval: { low: number; high: number; level: number; resamples: number; over: ResampledUnit; units: number } | null;
}

export interface OutOfFoldPrediction {
  label: number;
  prob: number;
  /** The video's fold group (its source), where predictions.csv records one (source_group). */
  group?: string;
}

/** What a bootstrap over out-of-fold predictions draws: whole sources, or single videos for predictions saved without source_group. */
export type ResampledUnit = 'sources' | 'videos';

/**
 * The resampling unit of each id: its source group when every prediction records one
 * (a source's real and fake clips are not independent draws, so they are drawn together),
 * else the video itself. Groups of one video each (data without a group column, where
 * each video is its own group) are called videos, as they are.
 */
export function resamplingGroups(ids: readonly string[], predictions: ReadonlyMap<string, OutOfFoldPrediction>): { groups: string[]; over: ResampledUnit } {
  const recorded = ids.every((id) => predictions.get(id)?.group !== undefined);
  const groups = recorded ? ids.map((id) => predictions.get(id)?.group as string) : [...ids];
  return { groups, over: recorded && new Set(groups).size < ids.length ? 'sources' : 'videos' };
}

/** Every fold's validation predictions of a model folder: id -> { label, prob, group }. */
export function outOfFoldPredictions(stage5Dir: string, model: string): Map<string, OutOfFoldPrediction> {
  const dir = join(stage5Dir, model);
  if (!existsSync(dir)) throw new FvcError('ERR_FILE_NOT_FOUND', `${dir}: no such model folder (train ${model} first, or give --output-dir)`);
  const out = new Map<string, OutOfFoldPrediction>();
  for (const fold of foldsIn(dir)) {
    const file = join(foldDir(dir, fold), FOLD_FILES.predictions);
    if (!existsSync(file)) continue;
    for (const p of readFoldPredictions(file, model)) {
      // Keyed by id: a repeated one would silently drop a prediction from every statistic.
      if (out.has(p.id)) throw new FvcError('ERR_INVALID_DATA', `${file}: video '${p.id}' is predicted twice across ${model}'s folds (ids must name one video each)`);
      out.set(p.id, { label: p.label, prob: p.prob, ...(p.group === undefined ? {} : { group: p.group }) });
    }
  }
  if (!out.size) throw new FvcError('ERR_FILE_NOT_FOUND', `${dir}: no fold has predictions.csv (no finished fold)`);
  return out;
}

export function compareModels(stage5Dir: string, a: string, b: string, o: BootstrapOptions = {}): Comparison {
  const pa = outOfFoldPredictions(stage5Dir, a);
  const pb = outOfFoldPredictions(stage5Dir, b);
  const ids = [...pa.keys()].filter((id) => pb.has(id)).sort();
  const onlyA = pa.size - ids.length;
  const onlyB = pb.size - ids.length;
  // A paired comparison needs the same videos, each scored out of fold by both.
  if (onlyA || onlyB)
    throw new FvcError('ERR_INVALID_DATA', `${a} and ${b} scored different videos (${onlyA} only by ${a}, ${onlyB} only by ${b}): train both on the same data and folds (same seed and --n-splits)`);
  const bad = ids.find((id) => pa.get(id)?.label !== pb.get(id)?.label);
  if (bad !== undefined) throw new FvcError('ERR_INVALID_DATA', `${bad}: labelled ${pa.get(bad)?.label} for ${a} but ${pb.get(bad)?.label} for ${b}`);
  const labels = ids.map((id) => pa.get(id)?.label as number);
  const sa = ids.map((id) => pa.get(id)?.prob as number);
  const sb = ids.map((id) => pb.get(id)?.prob as number);
  const test = delongTest(labels, sa, sb);
  const pick = (xs: number[], rows: number[]) => rows.map((i) => xs[i] as number);
  const diff = (rows: number[]) => {
    const y = pick(labels, rows);
    const x = rocAuc(y, pick(sa, rows));
    const z = rocAuc(y, pick(sb, rows));
    return x === null || z === null ? null : x - z;
  };
  const level = o.level ?? 0.95;
  const { groups, over } = resamplingGroups(ids, pa);
  const ci = bootstrapInterval(groups, diff, o);
  return { models: [a, b], videos: ids.length, ...test, interval: ci && { low: ci.low, high: ci.high, level, resamples: ci.resamples, over, units: new Set(groups).size } };
}
