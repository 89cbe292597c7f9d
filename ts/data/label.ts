/**
 * One reading of a label cell for every table fvc trains from. Only 0 (real) and 1
 * (fake) are labels: an empty cell, a NULL, `true` or `0.5` is not, although
 * JavaScript's Number() turns the first two into 0 — which once trained a fake video
 * as real without a word.
 */
export function parseLabel(v: unknown): 0 | 1 | null {
  if (typeof v === 'number' || typeof v === 'bigint') return v == 0 ? 0 : v == 1 ? 1 : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*([01])(?:\.0*)?\s*$/.exec(v);
  return m ? (Number(m[1]) as 0 | 1) : null;
}

/** A cell as an error message shows it: NULL and empty named, strings quoted. */
export function showCell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return v.trim() === '' ? 'empty' : `'${v}'`;
  return String(v);
}
