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
  // Read back as data, not trusted: a NaN or 7.5 would change every statistic without a word.
  return parseCsv(text).map((r, i) => {
    const line = i + 2;
    const prob = Number(r.prob);
    const label = Number(r.label);
    if (r.prob === null || r.prob === '' || !Number.isFinite(prob) || prob < 0 || prob > 1)
      throw new FvcError('ERR_INVALID_DATA', `${file}: line ${line}: probability '${String(r.prob)}' is not a number in [0, 1]`);
    if (label !== 0 && label !== 1) throw new FvcError('ERR_INVALID_DATA', `${file}: line ${line}: label '${String(r.label)}' is not 0 or 1`);
    if (r[VIDEO_ID] === null || r[VIDEO_ID] === undefined || r[VIDEO_ID] === '') throw new FvcError('ERR_INVALID_DATA', `${file}: line ${line}: no video_id`);
    const group = r.source_group === undefined || r.source_group === null || r.source_group === '' ? undefined : String(r.source_group);
    return { id: String(r[VIDEO_ID]), fold: Number(r.fold), label, prob, ...(group === undefined ? {} : { group }) };
  });
}
