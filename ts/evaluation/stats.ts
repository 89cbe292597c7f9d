/**
 * Uncertainty of the metrics, so "model A beats model B" comes with a p-value and a
 * metric with an interval: DeLong's test for two correlated ROC AUCs (the same videos
 * scored by both models; DeLong, DeLong & Clarke-Pearson 1988), and percentile
 * bootstrap intervals that resample whole groups (a source video and its fakes and
 * copies), as the folds do.
 */
import { Rng } from '../util/rng.js';

/** Upper tail of the standard normal, P(Z > z): erfc by its Taylor series below 2 and its continued fraction above (agrees with scipy to 1e-9 relative, tested). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // Taylor series of erf: converges fast for small x.
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction (Lentz) for the tail, where 1 - erf would lose every digit.
  const tiny = 1e-300;
  let f = tiny;
  let C = f;
  let D = 0;
  for (let i = 0; i < 500; i++) {
    // erfc(x) sqrt(pi) e^(x^2) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
    const a = i === 0 ? 1 : i / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-x * x) / Math.sqrt(Math.PI)) * f;
}

/** Each positive's and each negative's placement: the share of the other class it outranks (ties count half). */
function placements(labels: ArrayLike<number>, scores: ArrayLike<number>): { v10: number[]; v01: number[] } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(scores[i] as number);
  const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const v10 = pos.map((x) => neg.reduce((s, y) => s + psi(x, y), 0) / neg.length);
  const v01 = neg.map((y) => pos.reduce((s, x) => s + psi(x, y), 0) / pos.length);
  return { v10, v01 };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cov = (a: readonly number[], b: readonly number[]) => {
  const ma = mean(a);
  const mb = mean(b);
  return a.reduce((s, x, i) => s + (x - ma) * ((b[i] as number) - mb), 0) / (a.length - 1);
};

export interface DelongResult {
  aucA: number;
  aucB: number;
  /** aucA - aucB */
  difference: number;
  /** Standard error of the difference. */
  se: number;
  z: number;
  /** Two-sided. */
  p: number;
}

/** DeLong's test of AUC(A) = AUC(B) for two models' scores of the same videos. */
export function delongTest(labels: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>): DelongResult {
  const a = placements(labels, scoresA);
  const b = placements(labels, scoresB);
  const m = a.v10.length;
  const n = a.v01.length;
  if (m < 2 || n < 2) throw new RangeError("DeLong's test needs at least two videos of each class");
  const aucA = mean(a.v10);
  const aucB = mean(b.v10);
  const s10 = cov(a.v10, a.v10) + cov(b.v10, b.v10) - 2 * cov(a.v10, b.v10);
  const s01 = cov(a.v01, a.v01) + cov(b.v01, b.v01) - 2 * cov(a.v01, b.v01);
  const se = Math.sqrt(s10 / m + s01 / n);
  const difference = aucA - aucB;
  const z = se > 0 ? difference / se : difference === 0 ? 0 : Math.sign(difference) * Infinity;
  return { aucA, aucB, difference, se, z, p: se > 0 ? 2 * normalSf(Math.abs(z)) : difference === 0 ? 1 : 0 };
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  n?: number;
  seed?: number;
  /** Two-sided level (default 0.95). */
  level?: number;
}

/**
 * Percentile bootstrap interval of `stat` over rows, resampling whole groups with
 * replacement. Resamples where the statistic is undefined (one class drawn) are
 * skipped and counted.
 */
export function bootstrapInterval(
  groups: readonly string[],
  stat: (rows: number[]) => number | null,
  o: BootstrapOptions = {},
): { low: number; high: number; resamples: number; skipped: number } | null {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  const members = [...byGroup.values()];
  const rng = new Rng(o.seed ?? 0);
  const values: number[] = [];
  let skipped = 0;
  for (let b = 0; b < (o.n ?? 1000); b++) {
    const rows: number[] = [];
    for (let k = 0; k < members.length; k++) rows.push(...(members[Math.floor(rng.next() * members.length)] as number[]));
    const v = stat(rows);
    if (v === null || !Number.isFinite(v)) skipped++;
    else values.push(v);
  }
  if (!values.length) return null;
  values.sort((x, y) => x - y);
  const alpha = (1 - (o.level ?? 0.95)) / 2;
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))] as number;
  return { low: at(alpha), high: at(1 - alpha), resamples: values.length, skipped };
}
