/**
 * The feature matrix a feature-based model trains on: Stage 2, Stage 4 or both
 * (joined per original video), or a user's own table. Everything is checked
 * before training: binary labels, finite numbers, the feature columns used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTable, type Row } from '../data/table.js';
import { parseLabel, showCell } from '../data/label.js';
import { FvcError } from '../errors.js';
import type { FeatureSet } from './registry.js';

export interface FeatureData {
  /** Per row: the id written to predictions.csv (the video path). */
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
  /** Stage 2/4 tables: each row's source_video, the absolute path of the file its features describe. */
  sourceVideos?: string[];
  /** Frames per video the Stage 2 / Stage 4 features were computed from, so inference samples the same. */
  numFrames?: { stage2?: number; stage4?: number };
  /** Deep models: each row's frame-cache entry (uint8 .npy [N, H, W, 3]) instead of features. */
  clips?: string[];
  /** Deep models that need it (two_stream): each clip's optical flow beside its frames. */
  flows?: string[];
  warnings: string[];
}

/** A row's id in predictions.csv: the original video's path. */
/**
 * A row's id in predictions: the video it was made from (original_video_path: Stage 3's
 * input, so a Stage 4 row and its Stage 2 row share it), except for Stage 1's augmented
 * copies, whose original_video_path names the clip they were made from: each copy is a
 * video of its own and keeps its own path, or copies and originals would share an id.
 */
export const idOf = (r: Row) => String(Number(r.augmentation_index) > 0 ? r.video_path : (r.original_video_path ?? r.video_path));
/** A row's fold group: source_id where present, else its id. */
export const groupOf = (r: Row) => (r.source_id === null || r.source_id === undefined || r.source_id === '' ? idOf(r) : String(r.source_id));

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

// Tables written before source_video existed have none: callers then match by id.
const sourcesOf = (rows: Row[]) => (rows.every((r) => typeof r.source_video === 'string' && r.source_video) ? rows.map((r) => String(r.source_video)) : undefined);

export async function loadStageFeatures(featureSet: FeatureSet, stage2Dir: string, stage4Dir: string): Promise<FeatureData> {
  const load = async (stage: 'stage2' | 'stage4') => {
    const dir = stage === 'stage2' ? stage2Dir : stage4Dir;
    const path = join(dir, STAGE_FILES[stage]);
    if (!existsSync(path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: no such file (run fvc ${stage} first, or set --${stage}-dir / FVC_${stage.toUpperCase()}_OUTPUT_DIR)`);
    const schema = readSchema(dir, STAGE_FILES[stage]);
    return { path, rows: await readTable(path), names: schema.features, numFrames: schema.numFrames };
  };
  const warnings: string[] = [];
  if (featureSet !== 'stage2_stage4') {
    const s = await load(featureSet);
    const labels = checkLabels(s.rows, 'label', s.path);
    const m = toMatrix(s.rows, s.names, s.path, warnings);
    const numFrames = { [featureSet]: s.numFrames };
    return {
      ids: s.rows.map(idOf),
      labels,
      groups: s.rows.map(groupOf),
      featureNames: m.names,
      x: m.x,
      rows: s.rows.length,
      cols: m.names.length,
      source: s.path,
      sourceVideos: sourcesOf(s.rows),
      numFrames,
      warnings,
    };
  }
  const [s2, s4] = [await load('stage2'), await load('stage4')];
  const byVideo = new Map(s4.rows.map((r) => [String(r.source_video), r]));
  const joined: Row[] = [];
  let unmatched = 0;
  for (const r of s2.rows) {
    const o = byVideo.get(String(r.source_video));
    if (!o) {
      unmatched++;
      continue;
    }
    joined.push({ ...r, ...Object.fromEntries(s2.names.map((n) => [`s2_${n}`, r[n]])), ...Object.fromEntries(s4.names.map((n) => [`s4_${n}`, o[n]])) });
  }
  if (unmatched) warnings.push(`${unmatched} Stage 2 row(s) have no Stage 4 row (matched on source_video); left out`);
  const source = `${s2.path} + ${s4.path}`;
  if (!joined.length) throw new FvcError('ERR_INVALID_DATA', `${source}: no video appears in both tables (matched on source_video)`);
  const labels = checkLabels(joined, 'label', source);
  const m = toMatrix(joined, [...s2.names.map((n) => `s2_${n}`), ...s4.names.map((n) => `s4_${n}`)], source, warnings);
  const numFrames = { stage2: s2.numFrames, stage4: s4.numFrames };
  return {
    ids: joined.map(idOf),
    labels,
    groups: joined.map(groupOf),
    featureNames: m.names,
    x: m.x,
    rows: joined.length,
    cols: m.names.length,
    source,
    sourceVideos: sourcesOf(joined),
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
  const named = new Set([labelColumn, groupColumn, idColumn].filter((c): c is string => c !== undefined));
  const warnings: string[] = [];
  const numeric: string[] = [];
  for (const c of columns) {
    if (named.has(c)) continue;
    const isNumeric = rows.every((r) => r[c] === null || r[c] === '' || Number.isFinite(Number(r[c])) || ['nan', 'inf', '-inf'].includes(String(r[c]).toLowerCase()));
    if (isNumeric) numeric.push(c);
    else warnings.push(`column '${c}' is not numeric; ignored (name it with --id-column or --group-column if it is one)`);
  }
  const m = toMatrix(rows, numeric, path, warnings);
  const ids = rows.map((r, i) => (idColumn ? String(r[idColumn]) : r.video_path !== undefined ? String(r.video_path) : String(i)));
  const groups = groupColumn ? rows.map((r) => String(r[groupColumn])) : ids;
  return { ids, labels, groups, featureNames: m.names, x: m.x, rows: rows.length, cols: m.names.length, source: path, warnings };
}
