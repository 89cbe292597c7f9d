/**
 * The input video table (the seed's load_metadata_flexible): at least video_path
 * and label (0 real, 1 fake); source_id and any other columns are kept. Paths
 * resolve against --root, else the table's own folder.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { fileKind } from '../util/fs.js';
import { mapPool } from '../util/pool.js';
import { probe } from '../video/probe.js';
import { parseLabel, showCell } from './label.js';
import { readTable, type Row } from './table.js';
import { videoIds } from './video-id.js';

export interface VideoRow extends Row {
  /** The video's identity in every table and predictions.csv after this one (see video-id.ts). */
  video_id: string;
  video_path: string;
  label: 0 | 1;
  /** Absolute path of the file. */
  absolute_path: string;
}

export interface MetadataReport {
  rows: VideoRow[];
  classBalance: { real: number; fake: number };
}

export interface ValidateOptions {
  /** Rows required (the seed requires 3000; the demo lowers it). Default 1. */
  minRows?: number;
  root?: string;
  /**
   * Also open every file with libav and require a video stream (in parallel; about a
   * millisecond per file). Stages skip this: their native workers find such files
   * anyway and record them as failures instead of refusing the table.
   */
  probe?: boolean;
}

/** Load and validate; every problem found is listed in one error. */
export async function loadMetadata(path: string, options: ValidateOptions = {}): Promise<MetadataReport> {
  const raw = await readTable(path);
  const base = options.root ?? dirname(resolve(path));
  const problems: string[] = [];
  const columns = new Set(Object.keys(raw[0] ?? {}));
  for (const c of ['video_path', 'label']) if (raw.length && !columns.has(c)) problems.push(`missing column '${c}' (columns found: ${[...columns].join(', ')})`);
  const minRows = options.minRows ?? 1;
  if (raw.length < minRows) problems.push(`${raw.length} row(s), at least ${minRows} required`);
  const seen = new Map<string, number>();
  const rows: VideoRow[] = [];
  let real = 0;
  let fake = 0;
  let ids: string[] = [];
  if (!problems.some((p) => p.startsWith('missing column'))) {
    try {
      ids = videoIds(raw, path, { pathsChecked: true });
    } catch (err) {
      problems.push((err as Error).message.replace(`${path}: `, ''));
    }
    raw.forEach((r, i) => {
      const line = i + 2; // header is line 1
      const vp = String(r.video_path ?? '').trim();
      const label = parseLabel(r.label);
      if (!vp) problems.push(`row ${line}: empty video_path`);
      if (label === null) problems.push(`row ${line}: label ${showCell(r.label)} is not 0 (real) or 1 (fake)`);
      const abs = isAbsolute(vp) ? vp : resolve(base, vp);
      if (vp) {
        if (!existsSync(abs)) problems.push(`row ${line}: ${abs}: no such file`);
        else {
          const st = statSync(abs);
          if (!st.isFile()) problems.push(`row ${line}: ${abs}: ${fileKind(st)}, not a video file`);
          else if (st.size === 0) problems.push(`row ${line}: ${abs}: file is empty`);
        }
        const prev = seen.get(abs);
        if (prev !== undefined) problems.push(`row ${line}: duplicate of row ${prev} (${vp})`);
        else seen.set(abs, line);
      }
      if (label === 0) real++;
      if (label === 1) fake++;
      const { video_id: _given, ...rest } = r;
      rows.push({ video_id: ids[i] ?? '', ...rest, video_path: vp, label: label as 0 | 1, absolute_path: abs });
    });
  }
  if (options.probe) {
    const existing = rows.map((r, i) => ({ r, line: i + 2 })).filter(({ r }) => existsSync(r.absolute_path) && statSync(r.absolute_path).size > 0);
    const found = await mapPool(existing, availableParallelism(), async ({ r, line }) => {
      try {
        await probe(r.absolute_path, { timeoutMs: 30_000 });
        return undefined;
      } catch (err) {
        return `row ${line}: ${(err as Error).message}`;
      }
    });
    for (const f of found) if (f) problems.push(f);
  }
  if (problems.length) {
    const shown = problems.slice(0, 50).map((p) => `  - ${p}`).join('\n');
    const more = problems.length > 50 ? `\n  ... and ${problems.length - 50} more` : '';
    throw new FvcError('ERR_INVALID_DATA', `${path}: ${problems.length} problem(s) in the metadata table:\n${shown}${more}`);
  }
  return { rows, classBalance: { real, fake } };
}
