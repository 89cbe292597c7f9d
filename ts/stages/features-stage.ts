/**
 * Stage 2 (features of the original videos) and Stage 4 (the same features of
 * Stage 3's scaled videos) over a metadata table. Videos run in parallel on native
 * threads; each finished video is stored at once as an atomically written part
 * file, so an interrupted run (even kill -9) resumes where it stopped and never
 * counts a partial result as done. A video that fails is recorded in
 * failures.parquet with its cause and left out (or, with strict, fails the stage).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FvcError, isFvcError } from '../errors.js';
import { loadMetadata } from '../data/metadata.js';
import { writeParquet, type ColumnType, type Row } from '../data/table.js';
import { extractHandcraftedFeatures, handcraftedFeatureNames } from '../features/handcrafted.js';
import { writeFileAtomic } from '../util/fs.js';
import { mapPool } from '../util/pool.js';
import { createProgress, executionTimeLine } from '../util/progress.js';
import { probe } from '../video/probe.js';

export type FeatureStage = 'stage2' | 'stage4';

const STAGES = {
  stage2: { env: 'FVC_STAGE2_OUTPUT_DIR', dir: 'data/stage2', file: 'features_metadata.parquet' },
  stage4: { env: 'FVC_STAGE4_OUTPUT_DIR', dir: 'data/stage4', file: 'features_scaled_metadata.parquet' },
} as const;

export interface FeatureStageOptions {
  stage: FeatureStage;
  /** Input table (.csv or .parquet): Stage 2 reads the video metadata, Stage 4 Stage 3's scaled_metadata. */
  metadata: string;
  /** Output folder; default from FVC_STAGE2_OUTPUT_DIR / FVC_STAGE4_OUTPUT_DIR, else data/stage2 / data/stage4. */
  out?: string;
  root?: string;
  numFrames?: number;
  workers?: number;
  strict?: boolean;
  minRows?: number;
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface FeatureStageResult {
  outputPath: string;
  failuresPath: string;
  rows: number;
  computed: number;
  skipped: number;
  failed: number;
  seconds: number;
}

interface Part {
  video_path: string;
  size: number;
  mtimeMs: number;
  numFrames: number;
  values: Array<number | null>;
}

interface Failure {
  video_path: string;
  code: string;
  message: string;
}

export function featureStageOutputDir(stage: FeatureStage, out?: string): string {
  const s = STAGES[stage];
  return out ?? process.env[s.env] ?? s.dir;
}

export async function runFeatureStage(o: FeatureStageOptions): Promise<FeatureStageResult> {
  const started = performance.now();
  const outDir = featureStageOutputDir(o.stage, o.out);
  const partsDir = join(outDir, '.parts');
  await mkdir(partsDir, { recursive: true });
  const numFrames = o.numFrames ?? 8;
  const { rows, classBalance } = await loadMetadata(o.metadata, { minRows: o.minRows ?? 1, ...(o.root ? { root: o.root } : {}) });
  const log = (m: string) => o.quiet || process.stderr.write(`${o.stage}: ${m}\n`);
  log(`${rows.length} videos (${classBalance.real} real, ${classBalance.fake} fake), ${numFrames} frames each, output ${outDir}`);

  const names = handcraftedFeatureNames();
  const workers = o.workers ?? availableParallelism();
  const failures: Failure[] = [];
  const results = new Array<Part | undefined>(rows.length);
  let computed = 0;
  let skipped = 0;
  const progress = createProgress({ label: o.stage, total: rows.length, silent: o.quiet ?? false });

  await mapPool(rows, workers, async (row, i) => {
    const path = row.absolute_path;
    const partPath = join(partsDir, `${createHash('sha1').update(path).digest('hex')}.json`);
    const st = statSync(path);
    const cached = await readPart(partPath);
    // A part counts only if it describes this very file and sampling.
    if (cached && cached.video_path === path && cached.size === st.size && cached.mtimeMs === st.mtimeMs && cached.numFrames === numFrames) {
      results[i] = cached;
      skipped++;
      progress.tick(row.video_path);
      return;
    }
    try {
      await probe(path, o.signal ? { signal: o.signal } : {});
      const f = await extractHandcraftedFeatures(path, { numFrames, ...(o.signal ? { signal: o.signal } : {}) });
      for (const w of f.warnings) log(`warning: ${row.video_path}: ${w}`);
      const part: Part = { video_path: path, size: st.size, mtimeMs: st.mtimeMs, numFrames, values: f.values };
      await writeFileAtomic(partPath, JSON.stringify(part));
      results[i] = part;
      computed++;
    } catch (err) {
      if (isFvcError(err, 'ERR_ABORTED') || o.strict) throw err;
      const e = isFvcError(err) ? err : new FvcError('ERR_NATIVE', String(err));
      failures.push({ video_path: row.video_path, code: e.code, message: e.message });
      log(`warning: ${row.video_path} excluded: ${e.message} [${e.code}]`);
    }
    progress.tick(row.video_path);
  });
  progress.done();

  // Every input column is kept; features follow in schema order.
  const inputColumns = Object.keys(rows[0] ?? {}).filter((c) => c !== 'absolute_path');
  // CSV cells arrive as text: a column whose every value is a number is stored as one.
  const numeric = (c: string) => rows.every((r) => r[c] === null || r[c] === undefined || r[c] === '' || Number.isFinite(Number(r[c])));
  const types = new Map(inputColumns.map((c): [string, ColumnType] => [c, c === 'label' ? 'INTEGER' : c !== 'video_path' && numeric(c) ? 'DOUBLE' : 'VARCHAR']));
  const columns: Array<[string, ColumnType]> = [
    ...inputColumns.map((c): [string, ColumnType] => [c, types.get(c) as ColumnType]),
    ...names.map((n): [string, ColumnType] => [n, 'DOUBLE']),
  ];
  const out: Row[] = [];
  rows.forEach((row, i) => {
    const part = results[i];
    if (!part) return;
    const r: Row = {};
    for (const c of inputColumns) {
      const v = row[c];
      r[c] = c === 'label' ? row.label : v === null || v === undefined || v === '' ? null : types.get(c) === 'DOUBLE' ? Number(v) : String(v);
    }
    names.forEach((n, k) => (r[n] = part.values[k] ?? null));
    out.push(r);
  });
  const outputPath = join(outDir, STAGES[o.stage].file);
  const failuresPath = join(outDir, 'failures.parquet');
  await writeParquet(outputPath, columns, out);
  await writeParquet(failuresPath, [['video_path', 'VARCHAR'], ['code', 'VARCHAR'], ['message', 'VARCHAR']], failures as unknown as Row[]);
  await writeFileAtomic(join(outDir, 'feature_schema.json'), JSON.stringify({ stage: o.stage, numFrames, features: names }, null, 2) + '\n');
  const seconds = (performance.now() - started) / 1000;
  log(`${out.length} rows (${computed} computed, ${skipped} already done, ${failures.length} failed) -> ${outputPath}`);
  log(executionTimeLine(seconds));
  return { outputPath, failuresPath, rows: out.length, computed, skipped, failed: failures.length, seconds };
}

async function readPart(path: string): Promise<Part | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Part;
  } catch {
    return undefined; // absent or unreadable: recompute
  }
}
