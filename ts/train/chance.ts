/**
 * Whether a trained model does better than guessing: its out-of-fold AUC (every fold's
 * validation predictions pooled) with a percentile bootstrap interval over videos. A
 * model whose interval reaches 0.5 is reported as at chance, so a summary table of
 * means never presents noise as a result.
 */
import { rocAuc } from './metrics.js';
import { outOfFoldPredictions } from './compare.js';
import { bootstrapInterval } from './stats.js';

export interface ChanceVerdict {
  model: string;
  videos: number;
  auc: number | null;
  /** 95% bootstrap interval of the AUC over videos; null when it cannot be computed. */
  low: number | null;
  high: number | null;
  /** The interval reaches 0.5 (or the AUC is undefined): no evidence of better than guessing. */
  atChance: boolean;
}

export function chanceVerdict(stage5Dir: string, model: string, o: { resamples?: number; seed?: number } = {}): ChanceVerdict {
  const rows = [...outOfFoldPredictions(stage5Dir, model).entries()];
  const labels = rows.map(([, r]) => r.label);
  const probs = rows.map(([, r]) => r.prob);
  const auc = rocAuc(labels, probs);
  const ci = bootstrapInterval(
    rows.map(([id]) => id),
    (idx) =>
      rocAuc(
        idx.map((i) => labels[i] as number),
        idx.map((i) => probs[i] as number),
      ),
    { n: o.resamples ?? 1000, seed: o.seed ?? 0 },
  );
  return { model, videos: rows.length, auc, low: ci?.low ?? null, high: ci?.high ?? null, atChance: auc === null || ci === null || ci.low <= 0.5 };
}

/** One line per model: its AUC and interval, and plainly whether it is at chance. */
export function chanceLine(v: ChanceVerdict): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const what = `${v.model}: out-of-fold AUC ${f(v.auc)} (95% CI ${f(v.low)}-${f(v.high)}, ${v.videos} videos)`;
  return v.atChance ? `${what}: AT CHANCE, no better than guessing on this data` : `${what}: above chance`;
}
