/**
 * Stage 2 (features of the original videos) and Stage 4 (the same features of
 * Stage 3's scaled videos) over a metadata table, one row per video with every
 * input column kept and the named features (handcraftedFeatureNames()) after them.
 */
import { dirname, join, resolve } from 'node:path';
import { loadMetadata } from '../data/metadata.js';
import { extractHandcraftedFeatures, handcraftedFeatureNames, handcraftedSchemaVersion } from '../features/handcrafted.js';
import { writeFileAtomic } from '../util/fs.js';
import { executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { writeFailures, writeStageTable } from './output-table.js';
import { FvcError } from '../errors.js';
import { optionKeys, rejectUnknownOptions } from '../util/options.js';
import { runPerVideo, shardResult, withStageLock, type ShardOptions, type StageProgress, type StageResult } from './per-video.js';

export type FeatureStage = 'stage2' | 'stage4';

const STAGES = {
  stage2: { env: 'FVC_STAGE2_OUTPUT_DIR', dir: 'data/stage2', file: 'features_metadata.parquet' },
  stage4: { env: 'FVC_STAGE4_OUTPUT_DIR', dir: 'data/stage4', file: 'features_scaled_metadata.parquet' },
} as const;

export interface FeatureStageOptions extends ShardOptions {
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
  /** After each video: its status, how many are done and an ETA. */
  onProgress?: (e: StageProgress) => void;
}

export type FeatureStageResult = StageResult;

const KEYS = optionKeys<FeatureStageOptions>()({
  stage: true,
  metadata: true,
  out: true,
  root: true,
  numFrames: true,
  workers: true,
  strict: true,
  minRows: true,
  quiet: true,
  signal: true,
  onProgress: true,
  shard: true,
  merge: true,
});

export function featureStageOutputDir(stage: FeatureStage, out?: string): string {
  const s = STAGES[stage];
  return out ?? process.env[s.env] ?? s.dir;
}

export async function runFeatureStage(o: FeatureStageOptions): Promise<FeatureStageResult> {
  rejectUnknownOptions(`run${o.stage === 'stage4' ? 'Stage4' : 'Stage2'} (runFeatureStage)`, o, KEYS);
  const outDir = featureStageOutputDir(o.stage, o.out);
  return withStageLock(outDir, `fvc ${o.stage}`, o, () => featureStage(o, outDir));
}

async function featureStage(o: FeatureStageOptions, outDir: string): Promise<FeatureStageResult> {
  const started = performance.now();
  const numFrames = o.numFrames ?? 8;
  const { rows, classBalance } = await loadMetadata(o.metadata, { minRows: o.minRows ?? 1, ...(o.root ? { root: o.root } : {}) });
  const log = (m: string) => o.quiet || process.stderr.write(`${o.stage}: ${m}\n`);
  log(`${rows.length} videos (${classBalance.real} real, ${classBalance.fake} fake), ${numFrames} frames each, output ${outDir}`);
  const signal = o.signal ? { signal: o.signal } : {};

  const run = await runPerVideo<{ values: Array<number | null>; damagedFrames: number }>({
    label: o.stage,
    rows,
    partsDir: join(outDir, '.parts'),
    // `damage`: parts from before damaged frames were counted are computed again.
    params: JSON.stringify({ numFrames, damage: 1, schema: handcraftedSchemaVersion() }),
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.strict !== undefined ? { strict: o.strict } : {}),
    ...(o.quiet !== undefined ? { quiet: o.quiet } : {}),
    onProgress: o.onProgress,
    shard: o.shard,
    merge: o.merge,
    // The native worker opens and probes the file itself: a file that is not a
    // video fails there with the same typed error, so no separate probe pass.
    work: async (row) => {
      const f = await extractHandcraftedFeatures(row.absolute_path, { numFrames, ...signal });
      // Concealed damage gives plausible, shifted features: counted per video, fatal under --strict.
      if (o.strict && f.damagedFrames > 0) throw new FvcError('ERR_DECODE', `${row.absolute_path}: ${f.damagedFrames} of ${f.frames} sampled frames were decoded from damaged data (--strict)`);
      for (const w of f.warnings) log(`warning: ${row.video_path}: ${w}`);
      return { values: f.values, damagedFrames: f.damagedFrames };
    },
  });

  const names = handcraftedFeatureNames();
  const outputPath = join(outDir, STAGES[o.stage].file);
  const failuresPath = join(outDir, 'failures.parquet');
  if (o.shard) return shardResult(o.stage, o.shard, outputPath, failuresPath, run, started, o.quiet);
  // source_video: the absolute path of the file whose scaled copy (Stage 4) or which
  // itself (Stage 2) the row describes, for people and queries; rows join on video_id.
  const tableDir = dirname(resolve(o.metadata));
  // A Stage 2 row describes its own file (a Stage 1 copy's original_video_path names its source clip).
  const sourceOf = (row: (typeof rows)[number]) =>
    o.stage === 'stage4' && typeof row.original_video_path === 'string' && row.original_video_path ? resolve(tableDir, row.original_video_path) : row.absolute_path;
  const written = await writeStageTable(outputPath, rows, [['source_video', 'VARCHAR'], ['damaged_frames', 'INTEGER'], ...names.map((n): [string, 'DOUBLE'] => [n, 'DOUBLE'])], (i) => {
    const result = run.results[i];
    const row = rows[i];
    return result && row && { source_video: sourceOf(row), damaged_frames: result.damagedFrames, ...Object.fromEntries(names.map((n, k) => [n, result.values[k] ?? null])) };
  });
  const damaged = run.results.filter((r) => r && r.damagedFrames > 0).length;
  if (damaged) log(`warning: ${damaged} video(s) have frames decoded from damaged data (column damaged_frames); their features may be off`);
  await writeFailures(failuresPath, run.failures);
  await writeFileAtomic(join(outDir, 'feature_schema.json'), JSON.stringify({ stage: o.stage, schema_version: handcraftedSchemaVersion(), numFrames, features: names }, null, 2) + '\n');
  const seconds = (performance.now() - started) / 1000;
  log(`${written} rows (${run.computed} computed, ${run.skipped} already done, ${run.failures.length} failed) -> ${outputPath}`);
  log(executionTimeLine(seconds));
  await recordTiming(outDir, { stage: o.stage, seconds, status: run.failures.length ? 'failed' : 'ok', items: written });
  return { outputPath, failuresPath, rows: written, computed: run.computed, skipped: run.skipped, failed: run.failures.length, seconds };
}
