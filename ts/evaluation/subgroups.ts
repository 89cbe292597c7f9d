/**
 * Metrics broken down by a metadata column (manipulation, source, resolution, ...),
 * for `fvc evaluate --by` and `fvc query --preset subgroups`.
 */
import { FvcError } from '../errors.js';
import { computeMetrics, type Metrics } from './metrics.js';

/**
 * Metrics of one value of a metadata column. A group holding one class only (the
 * fakes of one manipulation) is scored against every video of the other class, as
 * per-manipulation results are reported (DeepfakeBench): `against` says so.
 */
export interface Subgroup {
  column: string;
  value: string;
  videos: number;
  against: 'itself' | 'every real video' | 'every fake video';
  metrics: Metrics;
}

/** One row per (column, value); `table` names where the rows came from, for errors. */
export function subgroupMetrics(rows: ReadonlyArray<Record<string, unknown> & { label: 0 | 1 }>, probs: readonly number[], by: readonly string[], threshold: number, table: string): Subgroup[] {
  const out: Subgroup[] = [];
  for (const column of by) {
    if (rows.length && !(column in (rows[0] as object)))
      throw new FvcError(
        'ERR_INVALID_ARGUMENT',
        `--by ${column}: ${table} has no such column (columns: ${Object.keys(rows[0] as object)
          .filter((c) => c !== 'absolute_path')
          .join(', ')})`,
      );
    const groups = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const v = r[column] === null || r[column] === undefined || r[column] === '' ? '(empty)' : String(r[column]);
      groups.set(v, [...(groups.get(v) ?? []), i]);
    });
    for (const [value, idx] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      const classes = new Set(idx.map((i) => rows[i]?.label));
      const only = classes.size === 1 ? [...classes][0] : undefined;
      const others = only === undefined ? [] : rows.map((r, i) => (r.label !== only ? i : -1)).filter((i) => i >= 0);
      const all = [...idx, ...others];
      out.push({
        column,
        value,
        videos: idx.length,
        against: only === undefined || !others.length ? 'itself' : only === 1 ? 'every real video' : 'every fake video',
        metrics: computeMetrics(
          all.map((i) => rows[i]?.label as number),
          all.map((i) => probs[i] as number),
          threshold,
        ),
      });
    }
  }
  return out;
}
