/**
 * One identity per video, assigned where the video enters the pipeline and carried
 * unchanged in every table after it (the `video_id` column): the user's `id` column
 * when the table has one, else the path as the table lists it; a Stage 1 copy is its
 * parent's id plus the copy number. Every model trained on one pipeline run names a
 * video the same way in predictions.csv, whichever stage table it read, so models of
 * different kinds can be compared, ensembled and stacked row by row.
 */
import { FvcError } from '../errors.js';
import type { Row } from './table.js';

export const VIDEO_ID = 'video_id';

/** The id of Stage 1's k-th augmented copy of a video. */
export const copyId = (parent: string, k: number): string => `${parent}#aug${k}`;

/**
 * The stage that writes a table with these columns, for tables that predate video ids:
 * their rows name videos by path, which differs between stages, so they are refused.
 */
function writtenBy(columns: ReadonlySet<string>): string | undefined {
  if (columns.has('augmentation_index')) return 'fvc stage1';
  if (columns.has('scaled_frames')) return 'fvc stage3';
  if (columns.has('source_video')) return 'fvc stage2 / fvc stage4';
  return undefined;
}

const blank = (v: unknown) => v === null || v === undefined || String(v).trim() === '';

function checkUnique(ids: readonly string[], path: string, column: string): void {
  const seen = new Map<string, number>();
  const repeats: string[] = [];
  ids.forEach((id, i) => {
    const prev = seen.get(id);
    if (prev !== undefined) repeats.push(`'${id}' (rows ${prev + 1} and ${i + 1})`);
    else seen.set(id, i);
  });
  if (repeats.length)
    throw new FvcError('ERR_INVALID_DATA', `${path}: ${column} must name one video per row; repeated: ${repeats.slice(0, 5).join(', ')}${repeats.length > 5 ? `, ... (${repeats.length} in all)` : ''}`);
}

/**
 * The ids of a table's rows: its video_id column; for a user's table without one, its
 * `id` column, else video_path as listed. A stage output without video_id was written
 * before ids existed and is refused, naming the stage to rerun (a rerun reuses every
 * finished video and only rewrites the table).
 */
export function videoIds(rows: readonly Row[], path: string, o: { pathsChecked?: boolean } = {}): string[] {
  const columns = new Set(Object.keys(rows[0] ?? {}));
  let column: string;
  if (columns.has(VIDEO_ID)) column = VIDEO_ID;
  else {
    const stage = writtenBy(columns);
    if (stage)
      throw new FvcError(
        'ERR_INVALID_DATA',
        `${path}: written by an fvc before video ids (no ${VIDEO_ID} column), so its rows cannot be matched with other stages' and models': rerun ${stage} on it (finished videos are reused) and then the models that read it`,
      );
    column = columns.has('id') ? 'id' : 'video_path';
  }
  const empty = rows.findIndex((r) => blank(r[column]));
  if (empty >= 0) throw new FvcError('ERR_INVALID_DATA', `${path}: row ${empty + 1} has an empty ${column}, so the video has no id`);
  const ids = rows.map((r) => String(r[column]).trim());
  // `pathsChecked`: the caller refuses repeated files itself, so ids that are paths need no second report.
  if (!(o.pathsChecked && column === 'video_path')) checkUnique(ids, path, column);
  return ids;
}
