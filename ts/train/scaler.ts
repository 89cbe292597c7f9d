import { FvcError } from '../errors.js';

/** Standardisation fitted on a training fold only (scikit-learn's StandardScaler: population std, 1 where it is 0). */
export interface Scaler {
  mean: number[];
  scale: number[];
}

/**
 * Means and standard deviations per column. Both are computed without overflow for
 * any finite input (deviations are scaled by their largest before squaring: a 1e308
 * cell once made the square infinite, stored as `null` in scaler.json, and gave a
 * saved model that could not predict); a column whose statistics are still not
 * finite is refused by name.
 */
export function fitScaler(x: Float64Array, rows: readonly number[], cols: number, names?: readonly string[]): Scaler {
  const mean = new Array<number>(cols).fill(0);
  const scale = new Array<number>(cols).fill(1);
  for (let j = 0; j < cols; j++) {
    let m = 0;
    rows.forEach((i, k) => (m += ((x[i * cols + j] as number) - m) / (k + 1)));
    let peak = 0;
    for (const i of rows) peak = Math.max(peak, Math.abs((x[i * cols + j] as number) - m));
    let sq = 0;
    if (peak > 0) for (const i of rows) sq += (((x[i * cols + j] as number) - m) / peak) ** 2;
    const sd = peak * Math.sqrt(sq / rows.length);
    mean[j] = m;
    scale[j] = sd > 0 ? sd : 1;
    if (!Number.isFinite(m) || !Number.isFinite(scale[j] as number))
      throw new FvcError('ERR_INVALID_DATA', `feature '${names?.[j] ?? `column ${j}`}': its values are too large to standardise (mean ${m}, standard deviation ${sd}); rescale or drop it`);
  }
  return { mean, scale };
}

/** A scaler read from or written to `file`: every statistic a finite number, one per feature. */
export function checkScaler(s: Partial<Scaler> | null | undefined, file: string, cols?: number): Scaler {
  for (const key of ['mean', 'scale'] as const) {
    const v = s?.[key];
    if (!Array.isArray(v) || (cols !== undefined && v.length !== cols)) throw new FvcError('ERR_INVALID_DATA', `${file}: '${key}' is not a list of ${cols ?? 'per-feature'} numbers`);
    const bad = v.findIndex((n) => typeof n !== 'number' || !Number.isFinite(n) || (key === 'scale' && n <= 0));
    if (bad >= 0)
      throw new FvcError('ERR_INVALID_DATA', `${file}: ${key}[${bad}] is ${JSON.stringify(v[bad])}, not a finite${key === 'scale' ? ' positive' : ''} number: this model cannot standardise its input`);
  }
  return s as Scaler;
}

/** The selected rows, standardised when a scaler is given, as a new row-major matrix. */
export function takeRows(x: Float64Array, rows: readonly number[], cols: number, scaler?: Scaler): Float64Array {
  const out = new Float64Array(rows.length * cols);
  rows.forEach((i, k) => {
    for (let j = 0; j < cols; j++) {
      const v = x[i * cols + j] as number;
      out[k * cols + j] = scaler ? (v - (scaler.mean[j] as number)) / (scaler.scale[j] as number) : v;
    }
  });
  return out;
}
