/** Filling the frame cache for every video of a metadata table, in parallel. */
import { availableParallelism } from 'node:os';
import { loadMetadata } from '../data/metadata.js';
import { toFailure, type Failure } from '../stages/per-video.js';
import { mapPool } from '../util/pool.js';
import { createProgress, executionTimeLine } from '../util/progress.js';
import { FrameCache, type FrameSampling } from './frame-cache.js';

export interface BuildFrameCacheOptions extends FrameSampling {
  metadata: string;
  root?: string;
  /** Cache folder; default FVC_FRAME_CACHE_DIR, else data/cache/frames. */
  dir?: string;
  workers?: number;
  strict?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface BuildFrameCacheResult {
  dir: string;
  videos: number;
  decoded: number;
  hits: number;
  failures: Failure[];
  seconds: number;
}

export async function buildFrameCache(o: BuildFrameCacheOptions): Promise<BuildFrameCacheResult> {
  const started = performance.now();
  const cache = new FrameCache(o.dir);
  const { rows } = await loadMetadata(o.metadata, o.root ? { root: o.root } : {});
  const log = (m: string) => o.quiet || process.stderr.write(`cache: ${m}\n`);
  const sampling: FrameSampling = {
    numFrames: o.numFrames,
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.letterbox !== undefined ? { letterbox: o.letterbox } : {}),
    ...(o.interpolation ? { interpolation: o.interpolation } : {}),
    ...(o.faces ? { faces: o.faces } : {}),
  };
  log(`${rows.length} videos, ${o.numFrames} frames each -> ${cache.dir}`);
  const progress = createProgress({ label: 'cache', total: rows.length, silent: o.quiet ?? false });
  let decoded = 0;
  let hits = 0;
  const failures: Failure[] = [];
  await mapPool(rows, o.workers ?? availableParallelism(), async (row) => {
    try {
      const e = await cache.get(row.absolute_path, sampling, o.signal ? { signal: o.signal } : {});
      if (e.hit) hits++;
      else decoded++;
    } catch (err) {
      const f = toFailure(err, row.video_path, o.strict);
      failures.push(f);
      log(`warning: ${row.video_path} not cached: ${f.message} [${f.code}]`);
    }
    progress.tick(row.video_path);
  });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  log(`${decoded} decoded, ${hits} already cached, ${failures.length} failed`);
  log(executionTimeLine(seconds));
  return { dir: cache.dir, videos: rows.length, decoded, hits, failures, seconds };
}
