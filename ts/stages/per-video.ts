/**
 * The machinery every per-video stage shares: videos in parallel, a progress bar,
 * one atomically written part file per finished video (so an interrupted run,
 * even kill -9, resumes and never counts a partial result as done), and failures
 * collected with their cause instead of stopping the stage unless strict.
 *
 * Sharded (`shard`: videos i, i + n, ... of the table, 1-based i of n): a shard runs its
 * videos only and also keeps its failures as parts, so that a merge (`merge`), which
 * runs no video, can assemble the whole table from the parts once every shard is done,
 * and refuses, naming what is missing, before that.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FvcError, isFvcError, type FvcErrorCode } from '../errors.js';
import type { VideoRow } from '../data/metadata.js';
import { writeFileAtomic } from '../util/fs.js';
import { mapPool } from '../util/pool.js';
import { createProgress } from '../util/progress.js';
import { withOutputLock } from '../util/lock.js';
import { inShard, shardLockName, shardName, type Shard } from '../util/shard.js';

export { inShard, parseShard, shardName, type Shard } from '../util/shard.js';

export interface Failure {
  video_path: string;
  code: string;
  message: string;
}

/** What a stage run reports, whichever stage it is. */
export interface StageResult {
  /** The stage's table (not yet written by a shard: its merge writes it). */
  outputPath: string;
  failuresPath: string;
  rows: number;
  computed: number;
  skipped: number;
  failed: number;
  seconds: number;
  /** `i/n` when this run was one shard and wrote parts only. */
  shard?: string;
}

/** How a stage run splits over jobs: one shard of its videos, or the merge of every shard's parts. */
export interface ShardOptions {
  shard?: Shard;
  merge?: boolean;
}

/** A stage's run under its folder's lock; a shard holds its own, so shards run side by side. */
export function withStageLock<T>(outDir: string, what: string, o: ShardOptions, fn: () => Promise<T>): Promise<T> {
  return o.shard ? withOutputLock(outDir, `${what} --shard ${shardName(o.shard)}`, fn, shardLockName(o.shard)) : withOutputLock(outDir, `${what}${o.merge ? ' --merge' : ''}`, fn);
}

/** A shard's report: its videos, and that the merge writes the table. */
export function shardResult(label: string, shard: Shard, outputPath: string, failuresPath: string, run: PerVideoResult<unknown>, started: number, quiet?: boolean): StageResult {
  const seconds = (performance.now() - started) / 1000;
  if (!quiet)
    process.stderr.write(
      `${label}: shard ${shardName(shard)}: ${run.computed} computed, ${run.skipped} already done, ${run.failures.length} failed; the table (${outputPath}) is written by --merge once every shard is done\n`,
    );
  return { outputPath, failuresPath, rows: 0, computed: run.computed, skipped: run.skipped, failed: run.failures.length, seconds, shard: shardName(shard) };
}

/** One video done by a stage run, for `onProgress`. */
export interface StageProgress {
  stage: string;
  video: string;
  /** computed now, reused from an earlier run's part file, or failed (listed in failures.parquet). */
  status: 'computed' | 'reused' | 'failed';
  done: number;
  total: number;
  /** From the pace of the videos computed so far; null before the first one. */
  etaSeconds: number | null;
  error?: Failure;
}

export interface PerVideoOptions<R> {
  label: string;
  rows: readonly VideoRow[];
  partsDir: string;
  /** Everything besides the file itself that the result depends on; a change recomputes. */
  params: string;
  workers?: number;
  strict?: boolean;
  quiet?: boolean;
  work: (row: VideoRow) => Promise<R>;
  /** Extra check that a stored result is still usable (e.g. its output file exists). */
  stillValid?: (result: R) => boolean;
  onProgress?: ((e: StageProgress) => void) | undefined;
  /** Run only this shard's videos (their failures kept as parts for the merge). */
  shard?: Shard | undefined;
  /** Run no video: assemble every row from the parts the shards wrote; refused while any is missing. */
  merge?: boolean | undefined;
}

export interface PerVideoResult<R> {
  results: Array<R | undefined>;
  computed: number;
  skipped: number;
  failures: Failure[];
}

interface Part<R> {
  video_path: string;
  size: number;
  mtimeMs: number;
  params: string;
  result?: R;
  /** A shard's failure, for the merge; an unsharded run tries the video again. */
  failure?: Failure;
}

/**
 * A video that could not be processed, as a failures-table row; rethrows instead
 * when the run was aborted or is strict.
 */
export function toFailure(err: unknown, videoPath: string, strict: boolean | undefined): Failure {
  if (isFvcError(err, 'ERR_ABORTED') || strict) throw err;
  const e = isFvcError(err) ? err : new FvcError('ERR_NATIVE', String(err));
  return { video_path: videoPath, code: e.code, message: e.message };
}

export async function runPerVideo<R>(o: PerVideoOptions<R>): Promise<PerVideoResult<R>> {
  if (o.shard && o.merge) throw new FvcError('ERR_INVALID_ARGUMENT', `${o.label}: a shard (${shardName(o.shard)}) and a merge are separate runs`);
  await mkdir(o.partsDir, { recursive: true });
  const log = (m: string) => o.quiet || process.stderr.write(`${o.label}: ${m}\n`);
  const results = new Array<R | undefined>(o.rows.length);
  const failures: Failure[] = [];
  let computed = 0;
  let skipped = 0;
  const mine = o.rows.filter((_, i) => inShard(i, o.shard)).length;
  const progress = createProgress({ label: o.shard ? `${o.label} ${shardName(o.shard)}` : o.label, total: mine, silent: o.quiet ?? false });
  const missing: string[] = [];
  const started = performance.now();
  let done = 0;
  // Reused videos cost nothing: the pace is that of the computed and failed ones.
  const report = (row: VideoRow, status: StageProgress['status'], error?: Failure) => {
    done++;
    const worked = computed + failures.length;
    const left = mine - done;
    const etaSeconds = worked ? ((performance.now() - started) / 1000 / worked) * left : left ? null : 0;
    o.onProgress?.({ stage: o.label, video: row.video_path, status, done, total: mine, etaSeconds, ...(error ? { error } : {}) });
  };
  await mapPool(o.rows, o.workers ?? availableParallelism(), async (row, i) => {
    if (!inShard(i, o.shard)) return;
    const path = row.absolute_path;
    const partPath = join(o.partsDir, `${createHash('sha1').update(path).digest('hex')}.json`);
    const st = statSync(path);
    const cached = await readPart<R>(partPath);
    const current = cached && cached.video_path === path && cached.size === st.size && cached.mtimeMs === st.mtimeMs && cached.params === o.params;
    if (current && cached.result !== undefined && (!o.stillValid || o.stillValid(cached.result))) {
      results[i] = cached.result;
      skipped++;
      report(row, 'reused');
    } else if (o.merge) {
      if (current && cached.failure) {
        // A strict merge fails as a strict run would have on that video.
        if (o.strict) throw new FvcError(cached.failure.code as FvcErrorCode, `${cached.failure.message} (recorded by its shard)`);
        failures.push(cached.failure);
        report(row, 'failed', cached.failure);
      } else missing.push(row.video_path);
    } else {
      try {
        const result = await o.work(row);
        const part: Part<R> = { video_path: path, size: st.size, mtimeMs: st.mtimeMs, params: o.params, result };
        await writeFileAtomic(partPath, JSON.stringify(part));
        results[i] = result;
        computed++;
        report(row, 'computed');
      } catch (err) {
        const f = toFailure(err, row.video_path, o.strict);
        failures.push(f);
        if (o.shard) await writeFileAtomic(partPath, JSON.stringify({ video_path: path, size: st.size, mtimeMs: st.mtimeMs, params: o.params, failure: f } satisfies Part<R>));
        log(`warning: ${row.video_path} excluded: ${f.message} [${f.code}]`);
        report(row, 'failed', f);
      }
    }
    progress.tick(row.video_path);
  });
  progress.done();
  if (missing.length)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${o.label}: ${missing.length} of ${o.rows.length} videos have no result from this configuration in ${o.partsDir} (e.g. ${missing.slice(0, 3).join(', ')}): run every shard first (or the whole stage without --merge)`,
    );
  return { results, computed, skipped, failures };
}

async function readPart<R>(path: string): Promise<Part<R> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Part<R>;
  } catch {
    return undefined; // absent or unreadable: recompute
  }
}
