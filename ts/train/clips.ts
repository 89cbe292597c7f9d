/**
 * The clips a deep model trains on: every video of a metadata table (Stage 3's
 * scaled videos by default) sampled once into the frame cache, shared by every
 * fold and model that samples alike; rows keep the table's labels and fold groups.
 */
import { describeFaceCrop, type FaceCrop } from '../video/faces.js';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkFrameSampling, FrameCache, type FrameSampling } from '../cache/frame-cache.js';
import { loadMetadata } from '../data/metadata.js';
import { FvcError } from '../errors.js';
import type { ClipLayout } from '../native/binding.js';
import { mapPool } from '../util/pool.js';
import type { TrainConfig } from './config.js';
import { groupsOf, type FeatureData } from './dataset.js';

/** The metadata table deep models read: the configured one, else Stage 3's. */
export function videoTable(cfg: TrainConfig): string {
  const table = cfg.videos ?? join(cfg.stage3Dir, 'scaled_metadata.parquet');
  if (!existsSync(table))
    throw new FvcError('ERR_FILE_NOT_FOUND', `${table}: no such file (deep models read the videos of a metadata table: run fvc stage3, set --stage3-dir / FVC_STAGE3_OUTPUT_DIR, or give videos)`);
  return table;
}

/**
 * How a layout's clips are cached: letterboxed squares of `frameSize`; at their own
 * aspect ratio, `frameSize` on the longer side (rgb+mask); or at their own size, never
 * scaled, in adjacent pairs (rgb+pairs: scaling would smooth the traces such a model
 * reads). Face crops are squares of `frameSize` whatever the layout.
 */
export function cacheSampling(layout: ClipLayout, numFrames: number, frameSize: number, faces?: FaceCrop): FrameSampling {
  const pairs = layout === 'rgb+pairs';
  return {
    numFrames,
    size: pairs && !faces ? 0 : frameSize,
    letterbox: layout === 'rgb' || layout === 'rgb+flow',
    ...(pairs ? { adjacent: true } : {}),
    ...(faces ? { faces } : {}),
  };
}

/**
 * `layout` decides what each clip brings: letterboxed squares (rgb), the same plus
 * their optical flow (rgb+flow), frames at their own aspect ratio (rgb+mask), or at
 * their own size in adjacent pairs (rgb+pairs).
 */
export async function loadClipData(
  cfg: TrainConfig,
  log: (m: string) => void,
  sampling: { numFrames: number; frameSize: number; faces?: FaceCrop },
  layout: ClipLayout = 'rgb',
): Promise<FeatureData & { videos: string[] }> {
  const table = videoTable(cfg);
  const frames = cacheSampling(layout, sampling.numFrames, sampling.frameSize, sampling.faces);
  // Refused once for the run, not once per video.
  checkFrameSampling(frames);
  const { rows } = await loadMetadata(table);
  const cache = new FrameCache(cfg.frameCacheDir);
  const clips: string[] = new Array(rows.length);
  const flows: string[] = [];
  const failed: string[] = [];
  let decoded = 0;
  let faceFrames = 0;
  await mapPool(rows, availableParallelism(), async (row, i) => {
    try {
      const e = await cache.get(row.absolute_path, frames);
      if (!e.hit) decoded++;
      if (e.faceFrames !== undefined) faceFrames += e.faceFrames;
      clips[i] = e.npyPath;
      if (layout === 'rgb+flow') flows[i] = await cache.flow(e, cfg.deep.flowMethod);
    } catch (err) {
      failed.push(`${row.video_path}: ${(err as Error).message}`);
    }
  });
  if (failed.length)
    throw new FvcError(
      'ERR_INVALID_DATA',
      `${table}: ${failed.length} video(s) cannot be decoded for training:\n${failed
        .slice(0, 10)
        .map((f) => `  - ${f}`)
        .join('\n')}`,
    );
  const what =
    layout === 'rgb+mask'
      ? `${sampling.frameSize}px on the longer side`
      : layout === 'rgb+pairs' && !sampling.faces
        ? 'their own size in adjacent pairs'
        : `${sampling.frameSize}px${layout === 'rgb+flow' ? ` with ${cfg.deep.flowMethod} optical flow` : ''}${layout === 'rgb+pairs' ? ' in adjacent pairs' : ''}`;
  log(`${rows.length} clips of ${sampling.numFrames} frames at ${what} from ${table} (${decoded} decoded, ${rows.length - decoded} from the frame cache ${cache.dir})`);
  if (sampling.faces)
    log(`${describeFaceCrop(sampling.faces)}: a face in ${faceFrames} of ${rows.length * sampling.numFrames} frames (the others reuse the last face's square, or the centre before any face)`);
  return {
    ids: rows.map((r) => r.video_id),
    labels: rows.map((r) => r.label),
    groups: groupsOf(
      rows,
      rows.map((r) => r.video_id),
    ),
    featureNames: [],
    x: new Float64Array(0),
    rows: rows.length,
    cols: 0,
    source: table,
    clips,
    videos: rows.map((r) => r.absolute_path),
    ...(layout === 'rgb+flow' ? { flows } : {}),
    warnings: [],
  };
}
