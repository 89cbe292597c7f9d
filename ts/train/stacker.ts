/**
 * The stacking ensemble's combiner: logistic regression on the members' log-odds,
 * fitted by Newton's method to the optimum scikit-learn's LogisticRegression(C)
 * reaches (L2 on the coefficients, not on the intercept). A handful of members and a
 * few thousand rows: exact and instant, no library.
 */
import { FvcError } from '../errors.js';

export interface Stacker {
  /** One weight per member, on logit(P(fake)). */
  coef: number[];
  intercept: number;
  C: number;
}

const EPS = 1e-6;
/** Log-odds of a probability clamped away from 0 and 1 (a member's 0 or 1 would be infinite). */
export const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]?.[c] as number) > Math.abs(m[p]?.[c] as number)) p = r;
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    const pivot = m[c]?.[c] as number;
    if (Math.abs(pivot) < 1e-300) throw new FvcError('ERR_INVALID_DATA', 'stacker: singular system (members with identical predictions?)');
    for (let r = c + 1; r < n; r++) {
      const f = (m[r]?.[c] as number) / pivot;
      for (let k = c; k <= n; k++) (m[r] as number[])[k] = (m[r]?.[k] as number) - f * (m[c]?.[k] as number);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]?.[n] as number;
    for (let k = r + 1; k < n; k++) s -= (m[r]?.[k] as number) * (x[k] as number);
    x[r] = s / (m[r]?.[r] as number);
  }
  return x;
}

/** rows: each row's members' probabilities; y: 0/1 labels. */
export function fitStacker(rows: readonly (readonly number[])[], y: readonly number[], C = 1): Stacker {
  const k = rows[0]?.length ?? 0;
  if (!rows.length || !k) throw new FvcError('ERR_INVALID_DATA', 'stacker: no out-of-fold predictions to fit on');
  if (!y.includes(0) || !y.includes(1)) throw new FvcError('ERR_INVALID_DATA', 'stacker: its training rows need both classes');
  const x = rows.map((r) => [...r.map(logit), 1]);
  const w = new Array<number>(k + 1).fill(0);
  for (let iter = 0; iter < 100; iter++) {
    const g = w.map((v, j) => (j < k ? v : 0));
    const h = w.map((_, i) => w.map((_, j) => (i === j && i < k ? 1 : 0)));
    x.forEach((xi, n) => {
      const p = sigmoid(xi.reduce((s, v, j) => s + v * (w[j] as number), 0));
      const r = C * (p - (y[n] as number));
      const s = C * p * (1 - p);
      for (let i = 0; i <= k; i++) {
        (g[i] as number) += r * (xi[i] as number);
        for (let j = 0; j <= k; j++) (h[i] as number[])[j] = (h[i]?.[j] as number) + s * (xi[i] as number) * (xi[j] as number);
      }
    });
    const step = solve(h, g);
    step.forEach((d, j) => (w[j] = (w[j] as number) - d));
    if (Math.max(...step.map(Math.abs)) < 1e-10) break;
  }
  if (!w.every(Number.isFinite)) throw new FvcError('ERR_INVALID_DATA', 'stacker: the fit diverged (non-finite weights)');
  return { coef: w.slice(0, k), intercept: w[k] as number, C };
}

export function applyStacker(s: Stacker, probs: readonly number[]): number {
  return sigmoid(probs.reduce((z, p, j) => z + logit(p) * (s.coef[j] as number), s.intercept));
}
