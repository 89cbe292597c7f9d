/**
 * A fold's predictions.csv: one row per validation video, named by its video_id
 * (see data/video-id.ts), with the fold, label, P(fake) and the video's fold group.
 * Every reader goes through here, so a file written before video ids (an `id`
 * column of paths, which differ between model kinds) is refused by name instead of
 * half-matching another model's videos.
 */
import { readFileSync } from 'node:fs';
import { VIDEO_ID } from '../data/video-id.js';
import { FvcError } from '../errors.js';
import { csvCell, parseCsv } from '../util/csv.js';
import { writeFileAtomic } from '../util/fs.js';

export interface FoldPrediction {
  id: string;
  fold: number;
  label: number;
  prob: number;
  /** The video's fold group (its source); absent in files written before it was recorded. */
  group?: string;
}

export function writeFoldPredictions(file: string, rows: readonly FoldPrediction[]): Promise<void> {
  const lines = rows.map((p) => [csvCell(p.id), p.fold, p.label, p.prob, csvCell(p.group)].join(','));
  return writeFileAtomic(file, `${VIDEO_ID},fold,label,prob,source_group\n${lines.join('\n')}\n`);
}

/** `model` names what to retrain when the file predates video ids. */
export function readFoldPredictions(file: string, model: string): FoldPrediction[] {
  const text = readFileSync(file, 'utf8');
  const header = (text.split(/\r?\n/, 1)[0] ?? '').split(',');
  if (!header.includes(VIDEO_ID))
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${file}: written by an fvc before video ids (its rows name videos by path, which differs between model kinds): retrain ${model} (fvc train --models ${model}) to compare or combine it`,
    );
  return parseCsv(text).map((r) => {
    const group = r.source_group === undefined || r.source_group === null || r.source_group === '' ? undefined : String(r.source_group);
    return { id: String(r[VIDEO_ID]), fold: Number(r.fold), label: Number(r.label), prob: Number(r.prob), ...(group === undefined ? {} : { group }) };
  });
}
