/**
 * Deep-feature extraction, done once per (video bytes, backbone, weights,
 * sampling) and reused by every fold, model and rerun: the seed's bottleneck
 * (18-20 hours for one model) is paid one time.
 *
 *   {featuresDir}/{backbone}/{key}.parquet   the table: one row per video, named
 *                                            columns <backbone>_f0 ... (users read this)
 *   {featuresDir}/{backbone}/{key}.json      what the key stands for (weights, sampling)
 *   {featuresDir}/{backbone}/{key}.parts/    one file per video's content hash,
 *                                            written atomically: the resume points
 *
 * key = hash(backbone, scale, the weights' SHA-256, sampling). A changed video
 * has another content hash, so it is extracted again; a changed weights file
 * gives another key, and the table made with the old bytes is reported stale.
 */
import type { FaceCrop } from '../video/faces.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ContentHasher } from '../cache/content-hash.js';
import { FrameCache } from '../cache/frame-cache.js';
import { writeParquet, type ColumnType } from '../data/table.js';
import { architectureInfo, samplingFor, type Sampling } from '../deep/presets.js';
import { FvcError, isFvcError } from '../errors.js';
import { native, type ComputeDevice, type ModelScale } from '../native/binding.js';
import { setTorchThreads } from '../runtime.js';
import { writeFileAtomic } from '../util/fs.js';
import { publishedSampling } from '../weights/preset.js';
import { inShard, shardName, type Shard } from '../util/shard.js';
import { optionKeys, rejectUnknownOptions } from '../util/options.js';
import { mapPool } from '../util/pool.js';
import { createProgress } from '../util/progress.js';

/** Bumped when what a part holds or how it is computed changes: old parts then miss. */
const FORMAT = 1;

/** Where a backbone's weights come from; never random unless asked for. */
export type WeightsSource =
  | { kind: 'file'; path: string }
  /** A checkpoint fvc trained (model.pt), e.g. fold N of i3d for fold N of xgboost_i3d. */
  | { kind: 'checkpoint'; path: string }
  | { kind: 'random'; seed: number };

export interface ExtractionRequest {
  backbone: string;
  scale?: ModelScale;
  weights: WeightsSource;
  /** Overrides of the backbone's preset (frames, crop, frame size). */
  sampling?: Partial<Sampling>;
  /** Clips of face crops (checked by faceCrop()): part of the table's key. */
  faces?: FaceCrop;
  /** Video files (absolute or relative to the working folder). */
  videos: readonly string[];
  featuresDir?: string;
  frameCacheDir?: string;
  threads?: number;
  device?: ComputeDevice;
  batchSize?: number;
  loaderThreads?: number;
  signal?: AbortSignal;
  quiet?: boolean;
  /** Failures stop the extraction (training needs every row); otherwise they are reported and left out. */
  strict?: boolean;
  /** Extract only videos i, i + n, ... (1-based shard i of n) into parts; the table is written by a merge. */
  shard?: Shard;
  /** Extract nothing: the table from the parts the shards wrote; a video without one is a failure (an error when strict). */
  merge?: boolean;
}

export interface ExtractionResult {
  /** The Parquet table. */
  table: string;
  key: string;
  backbone: string;
  columns: string[];
  dim: number;
  /** Row-major [videos, dim] in request order; rows of failed videos are NaN. */
  x: Float64Array;
  /** Videos whose embedding was computed in this call. */
  extracted: number;
  /** Videos whose embedding was already stored. */
  reused: number;
  /** Videos decoded into the frame cache in this call. */
  decoded: number;
  weightsSha256: string | null;
  sampling: Sampling;
  failures: Array<{ video: string; message: string }>;
  /** Tables of the same backbone and weights path made from other bytes of that file. */
  stale: string[];
  /** `i/n` when this call was one shard: parts written, the table not. */
  shard?: string;
}

export function featuresDir(dir?: string): string {
  return resolve(dir ?? (process.env.FVC_FEATURES_DIR || 'data/features'));
}

interface Part {
  format: number;
  video_path: string;
  sha256: string;
  values: number[];
}

interface TableMeta {
  format: number;
  key: string;
  backbone: string;
  scale: ModelScale;
  weights: { kind: WeightsSource['kind']; path: string | null; sha256: string | null; seed: number | null };
  sampling: Sampling;
  dim: number;
  columns: string[];
  /** Rows the table was last written with: parts added by shards since (no table written) make it stale. */
  rows?: number;
  updated: string;
}

export const embeddingColumns = (backbone: string, dim: number) => Array.from({ length: dim }, (_, j) => `${backbone}_f${j}`);

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const KEYS = optionKeys<ExtractionRequest>()({
  backbone: true,
  scale: true,
  weights: true,
  sampling: true,
  faces: true,
  videos: true,
  featuresDir: true,
  frameCacheDir: true,
  threads: true,
  device: true,
  batchSize: true,
  loaderThreads: true,
  signal: true,
  quiet: true,
  strict: true,
  shard: true,
  merge: true,
});

/**
 * The input weights expect where the backbone's preset is not it: published weights'
 * own preset (sizes, and their normalisation where it differs), or the normalisation a
 * checkpoint's run recorded beside it (a fold's config.json, best_model's model.json).
 * Caller's settings go over it.
 */
async function inputOfWeights(w: WeightsSource, backbone: string): Promise<Partial<Sampling>> {
  if (w.kind === 'file') return publishedSampling(w.path, backbone);
  if (w.kind === 'checkpoint')
    for (const f of ['config.json', 'model.json']) {
      const run = await readJson<{ deep?: { mean?: number[]; std?: number[] } }>(join(dirname(w.path), f));
      if (run?.deep?.mean && run.deep.std) return { mean: run.deep.mean, std: run.deep.std };
    }
  return {};
}

export async function extractEmbeddings(r: ExtractionRequest): Promise<ExtractionResult> {
  rejectUnknownOptions('extractEmbeddings', r, KEYS);
  const root = featuresDir(r.featuresDir);
  const { layout } = await architectureInfo(r.backbone);
  if (layout !== 'rgb') throw new FvcError('ERR_INVALID_ARGUMENT', `backbone '${r.backbone}': takes ${layout} clips; feature extraction takes RGB backbones`);
  const sampling = await samplingFor(r.backbone, { ...(await inputOfWeights(r.weights, r.backbone)), ...(r.sampling ?? {}) });
  const hasher = new ContentHasher(join(root, 'hashes'));
  const w = r.weights;
  if (w.kind !== 'random' && !existsSync(w.path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${w.path}: no such weights file for backbone ${r.backbone}`);
  const weightsSha256 = w.kind === 'random' ? null : await hasher.hash(resolve(w.path), true);
  const scale = { width: r.scale?.width ?? 1, depth: r.scale?.depth ?? 0 };
  const key = createHash('sha256')
    .update(JSON.stringify({ format: FORMAT, backbone: r.backbone, scale, weights: weightsSha256 ?? `random:${w.kind === 'random' ? w.seed : ''}`, sampling, ...(r.faces ? { faces: r.faces } : {}) }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(root, r.backbone);
  const partsDir = join(dir, `${key}.parts`);
  await mkdir(partsDir, { recursive: true });
  const stale = await staleTables(dir, key, w);
  const log = (m: string) => r.quiet || process.stderr.write(`extract: ${m}\n`);
  for (const s of stale) log(`warning: ${s}`);

  const cache = new FrameCache(r.frameCacheDir);
  const frames = { numFrames: sampling.numFrames, size: sampling.frameSize, ...(r.faces ? { faces: r.faces } : {}) };
  const failures: ExtractionResult['failures'] = [];
  const fail = (video: string, err: unknown) => {
    if (r.strict || isFvcError(err, 'ERR_ABORTED')) throw err;
    failures.push({ video, message: (err as Error).message });
  };
  if (r.shard && r.merge) throw new FvcError('ERR_INVALID_ARGUMENT', `extract: a shard (${shardName(r.shard)}) and a merge are separate runs`);
  // Which videos already have a part (by content), which need extracting; a shard looks at its own only.
  const shas = await mapPool(r.videos, availableParallelism(), async (v, i) => {
    if (!inShard(i, r.shard)) return null;
    try {
      return (await cache.key(v, frames)).sha256;
    } catch (err) {
      fail(v, err);
      return null;
    }
  });
  let dim = 0;
  const rows = new Array<number[] | undefined>(r.videos.length);
  const todo: number[] = [];
  for (let i = 0; i < r.videos.length; i++) {
    const sha = shas[i];
    if (!sha) continue;
    const part = await readJson<Part>(join(partsDir, `${sha}.json`));
    if (part && part.format === FORMAT && part.sha256 === sha) rows[i] = part.values;
    else todo.push(i);
  }
  if (r.merge)
    for (const i of todo.splice(0))
      fail(r.videos[i] as string, new FvcError('ERR_INVALID_DATA', `${r.videos[i]}: no stored embedding under ${partsDir}: its shard has not run, or could not extract it`));
  const reused = r.videos.filter((_, i) => inShard(i, r.shard)).length - todo.length - failures.length;
  let decoded = 0;
  let extracted = 0;
  if (todo.length) {
    if (r.threads) setTorchThreads(r.threads);
    const progress = createProgress({ label: `extract ${r.backbone}`, total: todo.length, silent: r.quiet ?? false });
    // Chunks bound memory and make each finished chunk a resume point.
    const chunk = Math.max(1, (r.batchSize ?? 8) * 4);
    for (let start = 0; start < todo.length; start += chunk) {
      const ids = todo.slice(start, start + chunk);
      const clips: Array<{ i: number; npy: string }> = [];
      await mapPool(ids, availableParallelism(), async (i) => {
        const video = r.videos[i] as string;
        try {
          const e = await cache.get(video, frames, r.signal ? { signal: r.signal } : {});
          if (!e.hit) decoded++;
          clips.push({ i, npy: e.npyPath });
        } catch (err) {
          fail(video, err);
          progress.tick(video);
        }
      });
      if (!clips.length) continue;
      clips.sort((a, b) => a.i - b.i);
      const out = await native.extractFeatures({
        model: r.backbone,
        clips: clips.map((c) => ({ npy: c.npy, label: 0 })),
        ...(w.kind === 'file' ? { weights: w.path } : w.kind === 'checkpoint' ? { checkpoint: w.path } : { randomInit: true, seed: w.seed }),
        numFrames: sampling.numFrames,
        cropSize: sampling.cropSize,
        ...(sampling.mean && sampling.std ? { mean: sampling.mean, std: sampling.std } : {}),
        augment: false,
        ...scale,
        batchSize: r.batchSize ?? 8,
        device: r.device ?? 'cpu',
        loaderThreads: r.loaderThreads ?? 2,
        ...(r.signal ? { signal: r.signal } : {}),
      });
      dim = out.dim;
      for (let k = 0; k < clips.length; k++) {
        const { i } = clips[k] as { i: number };
        const values = Array.from(out.values.subarray(k * dim, (k + 1) * dim));
        const part: Part = { format: FORMAT, video_path: resolve(r.videos[i] as string), sha256: shas[i] as string, values };
        await writeFileAtomic(join(partsDir, `${part.sha256}.json`), JSON.stringify(part));
        rows[i] = values;
        extracted++;
        progress.tick(r.videos[i]);
      }
    }
    progress.done(`${extracted} extracted`);
  }
  dim = dim || rows.find((v) => v)?.length || 0;
  const columns = embeddingColumns(r.backbone, dim);
  const table = join(dir, `${key}.parquet`);
  if (r.shard) {
    log(
      `${r.backbone}: shard ${shardName(r.shard)}: ${extracted} extracted, ${reused} reused, ${failures.length} failed; the table (${table}) is written by --merge or the next extraction of every video`,
    );
    return { table, key, backbone: r.backbone, columns, dim, x: new Float64Array(0), extracted, reused, decoded, weightsSha256, sampling, failures, stale, shard: shardName(r.shard) };
  }
  const meta: TableMeta = {
    format: FORMAT,
    key,
    backbone: r.backbone,
    scale,
    weights: { kind: w.kind, path: w.kind === 'random' ? null : resolve(w.path), sha256: weightsSha256, seed: w.kind === 'random' ? w.seed : null },
    sampling,
    dim,
    columns,
    updated: new Date().toISOString(),
  };
  // Shards add parts without writing the table: it is written again when it has fewer rows than there are parts.
  const parts = dim ? (await readdir(partsDir)).filter((f) => f.endsWith('.json')).length : 0;
  const previous = await readJson<TableMeta>(join(dir, `${key}.json`));
  if (dim && (extracted || !existsSync(table) || previous?.rows !== parts)) meta.rows = await writeTable(table, partsDir, meta);
  else meta.rows = previous?.rows ?? parts;
  if (dim) await writeFileAtomic(join(dir, `${key}.json`), `${JSON.stringify(meta, null, 2)}\n`);
  const x = new Float64Array(r.videos.length * dim).fill(Number.NaN);
  rows.forEach((v, i) => v && x.set(v, i * dim));
  log(`${r.backbone}: ${r.videos.length} videos, ${extracted} extracted, ${reused} reused, ${failures.length} failed -> ${table}`);
  return { table, key, backbone: r.backbone, columns, dim, x, extracted, reused, decoded, weightsSha256, sampling, failures, stale };
}

/** Every stored part of the key as one Parquet table (rewritten atomically when rows were added); its row count. */
async function writeTable(table: string, partsDir: string, meta: TableMeta): Promise<number> {
  const rows: Array<Record<string, unknown>> = [];
  for (const name of (await readdir(partsDir)).sort()) {
    if (!name.endsWith('.json')) continue;
    const p = await readJson<Part>(join(partsDir, name));
    if (!p || p.format !== FORMAT || p.values.length !== meta.dim) continue;
    const row: Record<string, unknown> = { video_path: p.video_path, video_sha256: p.sha256, backbone: meta.backbone, weights_sha256: meta.weights.sha256 };
    p.values.forEach((v, j) => (row[meta.columns[j] as string] = v));
    rows.push(row);
  }
  const columns: Array<[string, ColumnType]> = [
    ['video_path', 'VARCHAR'],
    ['video_sha256', 'VARCHAR'],
    ['backbone', 'VARCHAR'],
    ['weights_sha256', 'VARCHAR'],
    ...meta.columns.map((c): [string, ColumnType] => [c, 'DOUBLE']),
  ];
  await writeParquet(table, columns, rows);
  return rows.length;
}

/** Other tables of this backbone made from the same weights path, whose bytes have changed since. */
async function staleTables(dir: string, key: string, w: WeightsSource): Promise<string[]> {
  if (w.kind === 'random' || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.json') || name === `${key}.json`) continue;
    const m = await readJson<TableMeta>(join(dir, name));
    if (m?.weights.path === resolve(w.path)) out.push(`${join(dir, `${m.key}.parquet`)} was extracted with other bytes of ${w.path} (sha256 ${m.weights.sha256?.slice(0, 12)}...): stale, not used`);
  }
  return out;
}
