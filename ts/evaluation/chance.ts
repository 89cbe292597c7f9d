/**
 * Whether a trained model does better than guessing: its out-of-fold AUC (every fold's
 * validation predictions pooled) with a percentile bootstrap interval that resamples whole
 * sources (a source's real and fake clips are not independent draws). A model whose
 * interval reaches 0.5 is reported as at chance, so a summary table of means never
 * presents noise as a result.
 */
import { foldsIn } from './fold-layout.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rocAuc } from './metrics.js';
import { outOfFoldPredictions, resamplingGroups, type ResampledUnit } from './compare.js';
import { bootstrapInterval } from './stats.js';

export interface ChanceVerdict {
  model: string;
  videos: number;
  /** What the bootstrap resampled: whole sources, or videos for predictions saved without source_group. */
  over: ResampledUnit;
  /** How many sources (or videos) it drew from. */
  units: number;
  auc: number | null;
  /** 95% bootstrap interval of the AUC; null when it cannot be computed. */
  low: number | null;
  high: number | null;
  /** The interval reaches 0.5 (or the AUC is undefined): no evidence of better than guessing. */
  atChance: boolean;
  /** Above chance, but with an AUC below WEAK_AUC: a real signal too small to detect with. */
  weak: boolean;
}

/**
 * Resampling whole sources pairs each fake with its real: a model whose scores barely
 * separate the two gets a narrow interval just above 0.5. Below this AUC such a result
 * is called weak, so "above chance" is not read as detection.
 */
export const WEAK_AUC = 0.6;

export function chanceVerdict(stage5Dir: string, model: string, o: { resamples?: number; seed?: number } = {}): ChanceVerdict {
  const predictions = outOfFoldPredictions(stage5Dir, model);
  const rows = [...predictions.entries()];
  const labels = rows.map(([, r]) => r.label);
  const probs = rows.map(([, r]) => r.prob);
  const auc = rocAuc(labels, probs);
  const { groups, over } = resamplingGroups(
    rows.map(([id]) => id),
    predictions,
  );
  const ci = bootstrapInterval(
    groups,
    (idx) =>
      rocAuc(
        idx.map((i) => labels[i] as number),
        idx.map((i) => probs[i] as number),
      ),
    { n: o.resamples ?? 1000, seed: o.seed ?? 0 },
  );
  const atChance = auc === null || ci === null || ci.low <= 0.5;
  return { model, videos: rows.length, over, units: new Set(groups).size, auc, low: ci?.low ?? null, high: ci?.high ?? null, atChance, weak: !atChance && (auc as number) < WEAK_AUC };
}

/** One line per model: its AUC and interval, and plainly whether it is at chance. */
export function chanceLine(v: ChanceVerdict): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const drawn = v.over === 'sources' ? `, resampling ${v.units} sources` : '';
  const what = `${v.model}: out-of-fold AUC ${f(v.auc)} (95% CI ${f(v.low)}-${f(v.high)}, ${v.videos} videos${drawn})`;
  if (v.atChance) return `${what}: AT CHANCE, no better than guessing on this data`;
  return v.weak ? `${what}: above chance, but weakly (AUC below ${WEAK_AUC.toFixed(2)})` : `${what}: above chance`;
}

/** The verdict of every model folder of a Stage 5 output that has finished folds. */
export function chanceVerdicts(stage5Dir: string, o: { resamples?: number; seed?: number } = {}): ChanceVerdict[] {
  if (!existsSync(stage5Dir)) return [];
  return readdirSync(stage5Dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && foldsIn(join(stage5Dir, d.name)).length > 0)
    .map((d) => d.name)
    .sort()
    .map((m) => chanceVerdict(stage5Dir, m, o));
}
