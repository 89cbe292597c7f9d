/**
 * Stage 3: every video letterboxed to a fixed square (the seed's "fixed 256x256 max
 * dimension with letterboxing") and re-encoded, plus scaled_metadata.parquet whose
 * video_path points at the scaled files (relative to the output folder) and whose
 * original_video_path keeps the source. Stage 4 reads that table. With `faces`, each
 * frame is instead its followed face's square (ts/video/faces.ts), and face_frames
 * counts the frames in which a face was found.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { loadMetadata } from '../data/metadata.js';
import { executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { scaleVideo } from '../video/scale.js';
import { describeFaceCrop, faceCrop, type FaceCropOptions } from '../video/faces.js';
import { FvcError } from '../errors.js';
import { writeFailures, writeStageTable } from './output-table.js';
import type { ColumnType } from '../data/table.js';
import { optionKeys, rejectUnknownOptions } from '../util/options.js';
import { fitFileName } from '../util/fs.js';
import { runPerVideo, shardResult, withStageLock, type ShardOptions, type StageProgress, type StageResult } from './per-video.js';

export interface ScaleStageOptions extends ShardOptions {
  metadata: string;
  /** Output folder; default FVC_STAGE3_OUTPUT_DIR, else data/stage3. */
  out?: string;
  root?: string;
  size?: number;
  crf?: number;
  preset?: string;
  workers?: number;
  strict?: boolean;
  minRows?: number;
  /** Face crops instead of letterboxed frames (DeepfakeBench's preprocessing; ts/video/faces.ts). */
  faces?: FaceCropOptions;
  /** With faces: a video whose frames show a face fewer times than this becomes a failure row (default 0). */
  minFaceFrames?: number;
  quiet?: boolean;
  signal?: AbortSignal;
  /** After each video: its status, how many are done and an ETA. */
  onProgress?: (e: StageProgress) => void;
}

export type ScaleStageResult = StageResult;

const KEYS = optionKeys<ScaleStageOptions>()({
  metadata: true,
  out: true,
  root: true,
  size: true,
  crf: true,
  preset: true,
  workers: true,
  strict: true,
  minRows: true,
  faces: true,
  minFaceFrames: true,
  quiet: true,
  signal: true,
  onProgress: true,
  shard: true,
  merge: true,
});

export function scaleStageOutputDir(out?: string): string {
  return out ?? process.env.FVC_STAGE3_OUTPUT_DIR ?? 'data/stage3';
}

export async function runScaleStage(o: ScaleStageOptions): Promise<ScaleStageResult> {
  rejectUnknownOptions('runScaleStage', o, KEYS);
  const outDir = scaleStageOutputDir(o.out);
  return withStageLock(outDir, 'fvc stage3', o, () => scaleStage(o, outDir));
}

async function scaleStage(o: ScaleStageOptions, outDir: string): Promise<ScaleStageResult> {
  const started = performance.now();
  const videosDir = join(outDir, 'videos');
  await mkdir(videosDir, { recursive: true });
  const size = o.size ?? 256;
  const crf = o.crf ?? 23;
  const preset = o.preset ?? 'veryfast';
  const faces = o.faces ? await faceCrop(o.faces) : undefined;
  const minFaceFrames = o.minFaceFrames ?? 0;
  if (!Number.isInteger(minFaceFrames) || minFaceFrames < 0) throw new FvcError('ERR_INVALID_ARGUMENT', `minFaceFrames: ${o.minFaceFrames} is not a non-negative integer`);
  if (minFaceFrames > 0 && !faces) throw new FvcError('ERR_INVALID_ARGUMENT', 'minFaceFrames: only counts with faces (--faces)');
  const { rows } = await loadMetadata(o.metadata, { minRows: o.minRows ?? 1, ...(o.root ? { root: o.root } : {}) });
  const log = (m: string) => o.quiet || process.stderr.write(`stage3: ${m}\n`);
  log(`${rows.length} videos -> ${size}x${size} ${faces ? describeFaceCrop(faces) : 'letterboxed'}, crf ${crf}, output ${outDir}`);

  const run = await runPerVideo<{ file: string; frames: number; faceFrames?: number }>({
    label: 'stage3',
    rows,
    partsDir: join(outDir, '.parts'),
    params: JSON.stringify({ size, crf, preset, ...(faces ? { faces, minFaceFrames } : {}) }),
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.strict !== undefined ? { strict: o.strict } : {}),
    ...(o.quiet !== undefined ? { quiet: o.quiet } : {}),
    onProgress: o.onProgress,
    shard: o.shard,
    merge: o.merge,
    stillValid: (r) => existsSync(join(outDir, r.file)),
    work: async (row) => {
      // Distinct sources may share a base name: prefix a hash of the full path.
      const id = createHash('sha1').update(row.absolute_path).digest('hex').slice(0, 10);
      const file = join('videos', fitFileName(`${id}_`, basename(row.absolute_path).replace(/\.[^.]+$/, ''), '.mp4'));
      const r = await scaleVideo(row.absolute_path, join(outDir, file), { size, crf, preset, threads: 1, ...(faces ? { faces } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      if (!faces) return { file, frames: r.frames };
      const faceFrames = r.faceFrames ?? 0;
      if (faceFrames < minFaceFrames) {
        await rm(join(outDir, file), { force: true });
        throw new FvcError('ERR_INVALID_DATA', `${row.video_path}: a face was found in ${faceFrames} of ${r.frames} frames, fewer than --min-face-frames ${minFaceFrames}`);
      }
      return { file, frames: r.frames, faceFrames };
    },
  });

  const outputPath = join(outDir, 'scaled_metadata.parquet');
  const failuresPath = join(outDir, 'failures.parquet');
  if (o.shard) return shardResult('stage3', o.shard, outputPath, failuresPath, run, started, o.quiet);
  const written = await writeStageTable(
    outputPath,
    rows,
    [['video_path', 'VARCHAR'], ['original_video_path', 'VARCHAR'], ['scaled_frames', 'BIGINT'], ...(faces ? [['face_frames', 'BIGINT'] as [string, ColumnType]] : [])],
    (i) => {
      const r = run.results[i];
      const row = rows[i];
      return r && row && { video_path: r.file, original_video_path: relative(outDir, row.absolute_path), scaled_frames: r.frames, ...(faces ? { face_frames: r.faceFrames ?? 0 } : {}) };
    },
  );
  await writeFailures(failuresPath, run.failures);
  const seconds = (performance.now() - started) / 1000;
  log(`${written} rows (${run.computed} scaled, ${run.skipped} already done, ${run.failures.length} failed) -> ${outputPath}`);
  log(executionTimeLine(seconds));
  await recordTiming(outDir, { stage: 'stage3', seconds, status: run.failures.length ? 'failed' : 'ok', items: written });
  return { outputPath, failuresPath, rows: written, computed: run.computed, skipped: run.skipped, failed: run.failures.length, seconds };
}
