/**
 * Stratified, group-aware k-fold: rows sharing a group (source_id — a video, its
 * augmented copies and the fakes made from it) always land in the same fold,
 * while each fold's class proportions stay as close to the whole set's as the
 * groups allow. The assignment follows scikit-learn's StratifiedGroupKFold with
 * shuffle: groups in seeded random order, then by decreasing spread of their
 * class counts, each to the fold that keeps per-class proportions most even.
 */
import { FvcError } from '../errors.js';
import { Rng } from '../util/rng.js';

export interface Fold {
  /** 1-based, as the output folders fold_1 ... fold_k. */
  fold: number;
  train: number[];
  val: number[];
  balance: { train: { real: number; fake: number }; val: { real: number; fake: number } };
}

export function stratifiedGroupKFold(labels: readonly number[], groups: readonly string[], nSplits: number, seed: number): Fold[] {
  if (!Number.isInteger(nSplits) || nSplits < 2) throw new FvcError('ERR_INVALID_ARGUMENT', `n_splits: ${nSplits} must be an integer of at least 2`);
  const byGroup = new Map<string, { rows: number[]; counts: [number, number] }>();
  labels.forEach((y, i) => {
    const g = groups[i] as string;
    const e = byGroup.get(g) ?? { rows: [], counts: [0, 0] };
    e.rows.push(i);
    e.counts[y === 1 ? 1 : 0]++;
    byGroup.set(g, e);
  });
  if (byGroup.size < nSplits) throw new FvcError('ERR_INVALID_DATA', `${byGroup.size} group(s) (source_id) cannot fill ${nSplits} folds`);
  const totals: [number, number] = [0, 0];
  for (const e of byGroup.values()) {
    totals[0] += e.counts[0];
    totals[1] += e.counts[1];
  }
  const entries = new Rng(seed).shuffle([...byGroup.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const spread = (c: [number, number]) => {
    const m = (c[0] + c[1]) / 2;
    return Math.sqrt(((c[0] - m) ** 2 + (c[1] - m) ** 2) / 2);
  };
  // Stable sort: equal spreads keep the shuffled order.
  entries.sort(([, a], [, b]) => spread(b.counts) - spread(a.counts));
  const foldCounts = Array.from({ length: nSplits }, () => [0, 0] as [number, number]);
  const foldRows = Array.from({ length: nSplits }, () => [] as number[]);
  for (const [, e] of entries) {
    let best = -1;
    let bestEval = Infinity;
    let bestSize = Infinity;
    for (let f = 0; f < nSplits; f++) {
      const fc = foldCounts[f] as [number, number];
      fc[0] += e.counts[0];
      fc[1] += e.counts[1];
      let ev = 0;
      for (const c of [0, 1] as const) {
        const props = foldCounts.map((x) => (totals[c] ? x[c] / totals[c] : 0));
        const mean = props.reduce((a, b) => a + b, 0) / nSplits;
        ev += Math.sqrt(props.reduce((a, b) => a + (b - mean) ** 2, 0) / nSplits);
      }
      ev /= 2;
      fc[0] -= e.counts[0];
      fc[1] -= e.counts[1];
      const size = fc[0] + fc[1];
      if (ev < bestEval - 1e-12 || (Math.abs(ev - bestEval) <= 1e-12 && size < bestSize)) {
        best = f;
        bestEval = ev;
        bestSize = size;
      }
    }
    const fc = foldCounts[best] as [number, number];
    fc[0] += e.counts[0];
    fc[1] += e.counts[1];
    (foldRows[best] as number[]).push(...e.rows);
  }
  const count = (rows: number[]) => ({ real: rows.filter((i) => labels[i] !== 1).length, fake: rows.filter((i) => labels[i] === 1).length });
  return foldRows.map((val, f) => {
    const inVal = new Set(val);
    const train = labels.map((_, i) => i).filter((i) => !inVal.has(i));
    val.sort((a, b) => a - b);
    return { fold: f + 1, train, val, balance: { train: count(train), val: count(val) } };
  });
}

/** Every fold must hold both classes on both sides, or its metrics mean nothing. */
export function checkFolds(folds: readonly Fold[]): string[] {
  const problems: string[] = [];
  for (const f of folds)
    for (const side of ['train', 'val'] as const) {
      const b = f.balance[side];
      if (b.real === 0 || b.fake === 0) problems.push(`fold ${f.fold}: its ${side} rows hold only one class (${b.real} real, ${b.fake} fake)`);
    }
  return problems;
}

/**
 * `rows` (a training fold) split in two by the same grouped, stratified assignment: about
 * `fraction` of its groups to pick the best epoch, the rest to train on. No group
 * straddles the two, so the pick sees no copy of a training video.
 */
export function selectionSplit(rows: readonly number[], labels: readonly number[], groups: readonly string[], fraction: number, seed: number): { fit: number[]; select: number[] } {
  const parts = Math.max(2, Math.round(1 / fraction));
  const field = `deep.innerValidation ${fraction}`;
  const sourceCount = new Set(rows.map((i) => groups[i])).size;
  if (sourceCount < parts)
    throw new FvcError('ERR_INVALID_DATA', `${field}: a training fold's ${sourceCount} source(s) cannot give 1 in ${parts} to pick the epoch; use a larger fraction or more videos`);
  const sub = stratifiedGroupKFold(
    rows.map((i) => labels[i] as number),
    rows.map((i) => groups[i] as string),
    parts,
    seed,
  )[0] as Fold;
  const { train: t, val: v } = sub.balance;
  if (!t.real || !t.fake || !v.real || !v.fake)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${field}: a training fold's ${rows.length} videos split into ${v.real} real and ${v.fake} fake to pick the epoch, ${t.real} real and ${t.fake} fake to train on; each side needs both classes (use a larger fraction or more videos)`,
    );
  return { fit: sub.train.map((i) => rows[i] as number), select: sub.val.map((i) => rows[i] as number) };
}
