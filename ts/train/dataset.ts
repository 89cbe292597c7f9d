/**
 * The feature matrix a feature-based model trains on: Stage 2, Stage 4 or both
 * (joined per original video), or a user's own table. Everything is checked
 * before training: binary labels, finite numbers, the feature columns used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTable, type Row } from '../data/table.js';
import { parseLabel, showCell } from '../data/label.js';
import { VIDEO_ID, videoIds } from '../data/video-id.js';
import { FvcError } from '../errors.js';
import type { FeatureSet } from './spec.js';

export interface FeatureData {
  /** Per row: the video's id (video_id), written to predictions.csv. */
  ids: string[];
  labels: number[];
  /** Fold groups: source_id where present, else the id. */
  groups: string[];
  featureNames: string[];
  /** Row-major rows x cols. */
  x: Float64Array;
  rows: number;
  cols: number;
  source: string;
  /** Frames per video the Stage 2 / Stage 4 features were computed from, so inference samples the same. */
  numFrames?: { stage2?: number; stage4?: number };
  /** Deep models: each row's frame-cache entry (uint8 .npy [N, H, W, 3]) instead of features. */
  clips?: string[];
  /** Deep models that need it (two_stream): each clip's optical flow beside its frames. */
  flows?: string[];
  warnings: string[];
}

/** A row's fold group: source_id where present, else the video's id. */
const groupOf = (r: Row, id: string) => (r.source_id === null || r.source_id === undefined || r.source_id === '' ? id : String(r.source_id));
/** Fold groups of rows whose ids are `ids`. */
export const groupsOf = (rows: readonly Row[], ids: readonly string[]) => rows.map((r, i) => groupOf(r, ids[i] as string));

const STAGE_FILES = { stage2: 'features_metadata.parquet', stage4: 'features_scaled_metadata.parquet' } as const;

function readSchema(dir: string, file: string): { features: string[]; numFrames?: number } {
  const schema = join(dir, 'feature_schema.json');
  if (!existsSync(schema)) throw new FvcError('ERR_FILE_NOT_FOUND', `${schema}: no such file (run the stage that writes ${file} first)`);
  return JSON.parse(readFileSync(schema, 'utf8')) as { features: string[]; numFrames?: number };
}

function checkLabels(rows: Row[], column: string, source: string): number[] {
  const bad = new Map<string, number[]>();
  const labels = rows.map((r, i) => {
    const v = parseLabel(r[column]);
    if (v === null) bad.set(showCell(r[column]), [...(bad.get(showCell(r[column])) ?? []), i + 1]);
    return v ?? -1;
  });
  const rowsOf = (at: number[]) => `${at.length} row(s): ${at.slice(0, 5).join(', ')}${at.length > 5 ? ', ...' : ''}`;
  if (bad.size)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${source}: label column '${column}' must hold 0 (real) or 1 (fake); found ${[...bad].map(([v, at]) => `${v} (${rowsOf(at)})`).join(', ')} (data rows counted from 1)`,
    );
  if (!labels.includes(0) || !labels.includes(1)) throw new FvcError('ERR_INVALID_DATA', `${source}: every row has label ${labels[0]}: training needs both classes`);
  return labels;
}

/** Columns -> matrix; all-missing columns are dropped with a warning, partly missing or non-finite ones refused. */
function toMatrix(rows: Row[], columns: string[], source: string, warnings: string[]): { x: Float64Array; names: string[] } {
  const keep: string[] = [];
  const problems: string[] = [];
  for (const c of columns) {
    const missing = rows.filter((r) => r[c] === null || r[c] === undefined || r[c] === '').length;
    if (missing === rows.length) {
      warnings.push(`feature '${c}' is missing in every row; left out`);
      continue;
    }
    if (missing) problems.push(`'${c}': missing in ${missing} of ${rows.length} rows`);
    const bad = rows.findIndex((r) => r[c] !== null && r[c] !== undefined && r[c] !== '' && !Number.isFinite(Number(r[c])));
    if (bad >= 0) problems.push(`'${c}': row ${bad + 1} holds '${String(rows[bad]?.[c])}', not a finite number`);
    keep.push(c);
  }
  if (problems.length) throw new FvcError('ERR_INVALID_DATA', `${source}: feature values that cannot be trained on:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  if (!keep.length) throw new FvcError('ERR_INVALID_DATA', `${source}: no usable feature columns`);
  const x = new Float64Array(rows.length * keep.length);
  rows.forEach((r, i) => keep.forEach((c, j) => (x[i * keep.length + j] = Number(r[c]))));
  return { x, names: keep };
}

export async function loadStageFeatures(featureSet: FeatureSet, stage2Dir: string, stage4Dir: string): Promise<FeatureData> {
  const load = async (stage: 'stage2' | 'stage4') => {
    const dir = stage === 'stage2' ? stage2Dir : stage4Dir;
    const path = join(dir, STAGE_FILES[stage]);
    if (!existsSync(path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: no such file (run fvc ${stage} first, or set --${stage}-dir / FVC_${stage.toUpperCase()}_OUTPUT_DIR)`);
    const schema = readSchema(dir, STAGE_FILES[stage]);
    const rows = await readTable(path);
    return { path, rows, ids: videoIds(rows, path), names: schema.features, numFrames: schema.numFrames };
  };
  const warnings: string[] = [];
  if (featureSet !== 'stage2_stage4') {
    const s = await load(featureSet);
    const labels = checkLabels(s.rows, 'label', s.path);
    const m = toMatrix(s.rows, s.names, s.path, warnings);
    const numFrames = { [featureSet]: s.numFrames };
    return {
      ids: s.ids,
      labels,
      groups: groupsOf(s.rows, s.ids),
      featureNames: m.names,
      x: m.x,
      rows: s.rows.length,
      cols: m.names.length,
      source: s.path,
      numFrames,
      warnings,
    };
  }
  const [s2, s4] = [await load('stage2'), await load('stage4')];
  // A video's Stage 2 row (its own file) and Stage 4 row (its scaled copy) share its id.
  const byId = new Map(s4.rows.map((r, i) => [s4.ids[i] as string, r]));
  const joined: Row[] = [];
  const ids: string[] = [];
  s2.rows.forEach((r, i) => {
    const id = s2.ids[i] as string;
    const o = byId.get(id);
    if (!o) return;
    ids.push(id);
    joined.push({ ...r, ...Object.fromEntries(s2.names.map((n) => [`s2_${n}`, r[n]])), ...Object.fromEntries(s4.names.map((n) => [`s4_${n}`, o[n]])) });
  });
  const unmatched = s2.rows.length - joined.length;
  if (unmatched) warnings.push(`${unmatched} Stage 2 row(s) have no Stage 4 row (matched on video_id); left out`);
  const source = `${s2.path} + ${s4.path}`;
  if (!joined.length) throw new FvcError('ERR_INVALID_DATA', `${source}: no video appears in both tables (matched on video_id)`);
  const labels = checkLabels(joined, 'label', source);
  const m = toMatrix(joined, [...s2.names.map((n) => `s2_${n}`), ...s4.names.map((n) => `s4_${n}`)], source, warnings);
  const numFrames = { stage2: s2.numFrames, stage4: s4.numFrames };
  return {
    ids,
    labels,
    groups: groupsOf(joined, ids),
    featureNames: m.names,
    x: m.x,
    rows: joined.length,
    cols: m.names.length,
    source,
    numFrames,
    warnings,
  };
}

export async function loadFeatureTable(path: string, labelColumn: string, groupColumn?: string, idColumn?: string): Promise<FeatureData> {
  const rows = await readTable(path);
  if (!rows.length) throw new FvcError('ERR_INVALID_DATA', `${path}: the table is empty`);
  const columns = Object.keys(rows[0] ?? {});
  for (const [flag, c] of [
    ['--label-column', labelColumn],
    ['--group-column', groupColumn],
    ['--id-column', idColumn],
  ] as const)
    if (c !== undefined && !columns.includes(c)) throw new FvcError('ERR_INVALID_ARGUMENT', `${path}: ${flag} '${c}' is not a column (columns: ${columns.join(', ')})`);
  const labels = checkLabels(rows, labelColumn, path);
  // An id is never a feature, even when it looks like a number.
  const named = new Set([labelColumn, groupColumn, idColumn, VIDEO_ID].filter((c): c is string => c !== undefined));
  const warnings: string[] = [];
  const numeric: string[] = [];
  for (const c of columns) {
    if (named.has(c)) continue;
    // A number that overflows (1e309, +inf in Parquet) is still a number: the column is
    // numeric, and toMatrix then refuses the cell by row and column instead of the column vanishing.
    const isNumeric = rows.every(
      (r) => r[c] === null || r[c] === '' || !Number.isNaN(Number(r[c])) || ['nan', 'inf', '-inf', '+inf', 'infinity', '-infinity'].includes(String(r[c]).trim().toLowerCase()),
    );
    if (isNumeric) numeric.push(c);
    else warnings.push(`column '${c}' is not numeric; ignored (name it with --id-column or --group-column if it is one)`);
  }
  const m = toMatrix(rows, numeric, path, warnings);
  const ids = idColumn ? rows.map((r) => String(r[idColumn])) : columns.includes(VIDEO_ID) || columns.includes('video_path') ? videoIds(rows, path) : rows.map((_, i) => String(i));
  const groups = groupColumn ? rows.map((r) => String(r[groupColumn])) : ids;
  return { ids, labels, groups, featureNames: m.names, x: m.x, rows: rows.length, cols: m.names.length, source: path, warnings };
}
