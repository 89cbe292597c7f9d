/** Standardisation fitted on a training fold only (scikit-learn's StandardScaler: population std, 1 where it is 0). */
export interface Scaler {
  mean: number[];
  scale: number[];
}

export function fitScaler(x: Float64Array, rows: readonly number[], cols: number): Scaler {
  const mean = new Array<number>(cols).fill(0);
  const sq = new Array<number>(cols).fill(0);
  for (const i of rows) for (let j = 0; j < cols; j++) mean[j] = (mean[j] as number) + (x[i * cols + j] as number);
  for (let j = 0; j < cols; j++) mean[j] = (mean[j] as number) / rows.length;
  for (const i of rows)
    for (let j = 0; j < cols; j++) {
      const d = (x[i * cols + j] as number) - (mean[j] as number);
      sq[j] = (sq[j] as number) + d * d;
    }
  const scale = sq.map((s) => {
    const sd = Math.sqrt(s / rows.length);
    return sd > 0 ? sd : 1;
  });
  return { mean, scale };
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
