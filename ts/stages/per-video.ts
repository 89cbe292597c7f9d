/**
 * The machinery every per-video stage shares: videos in parallel, a progress bar,
 * one atomically written part file per finished video (so an interrupted run,
 * even kill -9, resumes and never counts a partial result as done), and failures
 * collected with their cause instead of stopping the stage unless strict.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FvcError, isFvcError } from '../errors.js';
import type { VideoRow } from '../data/metadata.js';
import { writeFileAtomic } from '../util/fs.js';
import { mapPool } from '../util/pool.js';
import { createProgress } from '../util/progress.js';

export interface Failure {
  video_path: string;
  code: string;
  message: string;
}

/** What a stage run reports, whichever stage it is. */
export interface StageResult {
  outputPath: string;
  failuresPath: string;
  rows: number;
  computed: number;
  skipped: number;
  failed: number;
  seconds: number;
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
  result: R;
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
  await mkdir(o.partsDir, { recursive: true });
  const log = (m: string) => o.quiet || process.stderr.write(`${o.label}: ${m}\n`);
  const results = new Array<R | undefined>(o.rows.length);
  const failures: Failure[] = [];
  let computed = 0;
  let skipped = 0;
  const progress = createProgress({ label: o.label, total: o.rows.length, silent: o.quiet ?? false });
  const started = performance.now();
  let done = 0;
  // Reused videos cost nothing: the pace is that of the computed and failed ones.
  const report = (row: VideoRow, status: StageProgress['status'], error?: Failure) => {
    done++;
    const worked = computed + failures.length;
    const left = o.rows.length - done;
    const etaSeconds = worked ? ((performance.now() - started) / 1000 / worked) * left : left ? null : 0;
    o.onProgress?.({ stage: o.label, video: row.video_path, status, done, total: o.rows.length, etaSeconds, ...(error ? { error } : {}) });
  };
  await mapPool(o.rows, o.workers ?? availableParallelism(), async (row, i) => {
    const path = row.absolute_path;
    const partPath = join(o.partsDir, `${createHash('sha1').update(path).digest('hex')}.json`);
    const st = statSync(path);
    const cached = await readPart<R>(partPath);
    if (cached && cached.video_path === path && cached.size === st.size && cached.mtimeMs === st.mtimeMs && cached.params === o.params && (!o.stillValid || o.stillValid(cached.result))) {
      results[i] = cached.result;
      skipped++;
      report(row, 'reused');
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
        log(`warning: ${row.video_path} excluded: ${f.message} [${f.code}]`);
        report(row, 'failed', f);
      }
    }
    progress.tick(row.video_path);
  });
  progress.done();
  return { results, computed, skipped, failures };
}

async function readPart<R>(path: string): Promise<Part<R> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Part<R>;
  } catch {
    return undefined; // absent or unreadable: recompute
  }
}
