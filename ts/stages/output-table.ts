/** Writing a stage's result table: the input columns kept, typed, then the stage's own. */
import type { VideoRow } from '../data/metadata.js';
import { writeParquet, type ColumnType, type Row } from '../data/table.js';
import { VIDEO_ID } from '../data/video-id.js';
import type { Failure } from './per-video.js';

const FAILURE_COLUMNS: Array<[string, ColumnType]> = [
  ['video_path', 'VARCHAR'],
  ['code', 'VARCHAR'],
  ['message', 'VARCHAR'],
];

export function writeFailures(path: string, failures: readonly Failure[]): Promise<void> {
  return writeParquet(path, FAILURE_COLUMNS, failures as unknown as Row[]);
}

/**
 * rows[i] is written, with `extra(i)` merged over it, when extra(i) is defined; once
 * per element when it is a list (Stage 1 writes an original and its copies).
 * CSV cells arrive as text: an input column whose every value is a number is stored as one.
 */
export async function writeStageTable(
  path: string,
  rows: readonly VideoRow[],
  extraColumns: ReadonlyArray<[string, ColumnType]>,
  extra: (i: number) => Row | readonly Row[] | undefined,
): Promise<number> {
  const own = new Set(extraColumns.map(([c]) => c));
  const inputColumns = Object.keys(rows[0] ?? {}).filter((c) => c !== 'absolute_path' && !own.has(c));
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  const numeric = (c: string) => rows.every((r) => blank(r[c]) || Number.isFinite(Number(r[c])));
  const types = new Map(inputColumns.map((c): [string, ColumnType] => [c, c === 'label' ? 'INTEGER' : c !== 'video_path' && c !== VIDEO_ID && numeric(c) ? 'DOUBLE' : 'VARCHAR']));
  const out: Row[] = [];
  rows.forEach((row, i) => {
    const add = extra(i);
    if (!add) return;
    const r: Row = {};
    for (const c of inputColumns) {
      const v = row[c];
      r[c] = c === 'label' ? row.label : blank(v) ? null : types.get(c) === 'DOUBLE' ? Number(v) : String(v);
    }
    for (const a of Array.isArray(add) ? add : [add]) out.push({ ...r, ...a });
  });
  await writeParquet(path, [...inputColumns.map((c): [string, ColumnType] => [c, types.get(c) as ColumnType]), ...extraColumns], out);
  return out.length;
}
