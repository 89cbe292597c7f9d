/**
 * Stage 1: N augmented copies of every video, written natively, plus
 * augmented_metadata.parquet listing the originals (augmentation 'original') and
 * their copies. A copy's video_id is its original's plus the copy number; copies
 * inherit the original's source_id (or, when the table has none, the original's
 * video_id), so the fold splitter keeps a video and its copies on the same side.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { copySeed, drawAugmentation, type AugmentPolicy } from '../augment/policy.js';
import { augmentVideo } from '../augment/augment.js';
import { loadMetadata } from '../data/metadata.js';
import { copyId } from '../data/video-id.js';
import type { ColumnType } from '../data/table.js';
import { FvcError } from '../errors.js';
import { executionTimeLine } from '../util/progress.js';
import { recordTiming } from '../util/timings.js';
import { writeFailures, writeStageTable } from './output-table.js';
import { optionKeys, rejectUnknownOptions } from '../util/options.js';
import { fitFileName } from '../util/fs.js';
import { runPerVideo, shardResult, withStageLock, type ShardOptions, type StageProgress, type StageResult } from './per-video.js';

export interface AugmentStageOptions extends AugmentPolicy, ShardOptions {
  metadata: string;
  /** Output folder; default FVC_STAGE1_OUTPUT_DIR, else data/stage1. */
  out?: string;
  root?: string;
  /** Augmented copies per video (default 2); 0 only lists the originals. */
  copies?: number;
  seed?: number;
  workers?: number;
  strict?: boolean;
  minRows?: number;
  quiet?: boolean;
  signal?: AbortSignal;
  /** After each video: its status, how many are done and an ETA. */
  onProgress?: (e: StageProgress) => void;
}

const KEYS = optionKeys<AugmentStageOptions>()({
  metadata: true,
  out: true,
  root: true,
  copies: true,
  seed: true,
  workers: true,
  strict: true,
  minRows: true,
  quiet: true,
  signal: true,
  onProgress: true,
  shard: true,
  merge: true,
  transforms: true,
  probability: true,
  crf: true,
  preset: true,
});

interface Copy {
  file: string;
  augmentation: string;
  params: string;
  frames: number;
}

export function augmentStageOutputDir(out?: string): string {
  return out ?? process.env.FVC_STAGE1_OUTPUT_DIR ?? 'data/stage1';
}

export async function runAugmentStage(o: AugmentStageOptions): Promise<StageResult> {
  rejectUnknownOptions('runAugmentStage', o, KEYS);
  const outDir = augmentStageOutputDir(o.out);
  return withStageLock(outDir, 'fvc stage1', o, () => augmentStage(o, outDir));
}

async function augmentStage(o: AugmentStageOptions, outDir: string): Promise<StageResult> {
  const started = performance.now();
  await mkdir(join(outDir, 'videos'), { recursive: true });
  const copies = o.copies ?? 2;
  const seed = o.seed ?? 42;
  if (!Number.isInteger(copies) || copies < 0 || copies > 100) throw new FvcError('ERR_INVALID_ARGUMENT', `copies: ${copies} is not an integer in 0..100`);
  if (!Number.isInteger(seed) || seed < 0) throw new FvcError('ERR_INVALID_ARGUMENT', `seed: ${seed} is not a non-negative integer`);
  const policy: AugmentPolicy = {
    ...(o.transforms ? { transforms: o.transforms } : {}),
    ...(o.probability !== undefined ? { probability: o.probability } : {}),
    ...(o.crf !== undefined ? { crf: o.crf } : {}),
    ...(o.preset ? { preset: o.preset } : {}),
  };
  drawAugmentation(policy, 0); // validates the policy before any video is touched
  const { rows } = await loadMetadata(o.metadata, { minRows: o.minRows ?? 1, ...(o.root ? { root: o.root } : {}) });
  const log = (m: string) => o.quiet || process.stderr.write(`stage1: ${m}\n`);
  log(`${rows.length} videos x ${copies} augmented copies (seed ${seed}), output ${outDir}`);

  const run = await runPerVideo<Copy[]>({
    label: 'stage1',
    rows,
    partsDir: join(outDir, '.parts'),
    params: JSON.stringify({ copies, seed, policy }),
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.strict !== undefined ? { strict: o.strict } : {}),
    ...(o.quiet !== undefined ? { quiet: o.quiet } : {}),
    onProgress: o.onProgress,
    shard: o.shard,
    merge: o.merge,
    stillValid: (r) => r.every((c) => existsSync(join(outDir, c.file))),
    work: async (row) => {
      const id = createHash('sha1').update(row.absolute_path).digest('hex').slice(0, 10);
      const stem = basename(row.absolute_path).replace(/\.[^.]+$/, '');
      const made: Copy[] = [];
      for (let k = 1; k <= copies; k++) {
        // Keyed by the path as the table lists it: the same dataset moved elsewhere draws the same copies.
        const drawn = drawAugmentation(policy, copySeed(seed, row.video_path, k));
        const file = join('videos', fitFileName(`${id}_`, stem, `_aug${k}.mp4`));
        const r = await augmentVideo(row.absolute_path, join(outDir, file), drawn.params, { threads: 1, ...(o.signal ? { signal: o.signal } : {}) });
        made.push({ file, augmentation: drawn.name, params: JSON.stringify(drawn.params), frames: r.frames });
      }
      return made;
    },
  });

  const outputPath = join(outDir, 'augmented_metadata.parquet');
  const failuresPath = join(outDir, 'failures.parquet');
  if (o.shard) return shardResult('stage1', o.shard, outputPath, failuresPath, run, started, o.quiet);
  const columns: Array<[string, ColumnType]> = [
    ['video_path', 'VARCHAR'],
    ['source_id', 'VARCHAR'],
    ['augmentation', 'VARCHAR'],
    ['augmentation_index', 'INTEGER'],
    ['augmentation_params', 'VARCHAR'],
    ['original_video_path', 'VARCHAR'],
  ];
  const written = await writeStageTable(outputPath, rows, columns, (i) => {
    const made = run.results[i];
    const row = rows[i];
    if (!made || !row) return undefined;
    const original = relative(outDir, row.absolute_path);
    const source = row.source_id === undefined || row.source_id === null || row.source_id === '' ? row.video_id : String(row.source_id);
    return [
      { video_id: row.video_id, video_path: original, source_id: source, augmentation: 'original', augmentation_index: 0, augmentation_params: null, original_video_path: original },
      ...made.map((c, k) => ({
        video_id: copyId(row.video_id, k + 1),
        video_path: c.file,
        source_id: source,
        augmentation: c.augmentation,
        augmentation_index: k + 1,
        augmentation_params: c.params,
        original_video_path: original,
      })),
    ];
  });
  await writeFailures(failuresPath, run.failures);
  const seconds = (performance.now() - started) / 1000;
  log(`${written} rows (${run.computed} videos augmented, ${run.skipped} already done, ${run.failures.length} failed) -> ${outputPath}`);
  log(executionTimeLine(seconds));
  await recordTiming(outDir, { stage: 'stage1', seconds, status: run.failures.length ? 'failed' : 'ok', items: written });
  return { outputPath, failuresPath, rows: written, computed: run.computed, skipped: run.skipped, failed: run.failures.length, seconds };
}
