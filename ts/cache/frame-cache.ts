/**
 * The frame cache: each video's uniformly sampled, resized RGB frames decoded
 * once and kept as an .npy file (uint8 [N, H, W, 3], 64-byte aligned header, so
 * numpy.load(mmap_mode='r') and native code can map it without copying). An
 * entry is keyed by the SHA-256 of the video's bytes and the sampling
 * parameters: k folds times many models read the same entry, a changed file gets
 * a new key (its old entry is reported stale and pruned), and a renamed or copied
 * file with the same bytes still hits.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { native, type FlowMethod } from '../native/binding.js';
import { sampleFrames, type Interpolation } from '../video/frames.js';
import type { FaceCrop } from '../video/faces.js';
import { ContentHasher } from './content-hash.js';

const FLOW_METHODS: readonly FlowMethod[] = ['dis', 'farneback'];

/** Bumped when the stored layout or the decoding that fills it changes: old entries then miss. */
const FORMAT = 1;

export interface FrameSampling {
  numFrames: number;
  /** Letterboxed square side (default 256). */
  size?: number;
  letterbox?: boolean;
  interpolation?: Interpolation;
  /** Face crops (checked by faceCrop()): size x size squares around the followed face; letterbox is then ignored. */
  faces?: FaceCrop;
  /**
   * numFrames / 2 samples, each followed by the stream's next frame (interleaved: sample,
   * successor, ...), for cues between truly adjacent frames; numFrames must be even.
   */
  adjacent?: boolean;
}

export interface CacheEntry {
  key: string;
  /** The .npy file: uint8 [numFrames, height, width, 3]. */
  npyPath: string;
  shape: [number, number, number, 3];
  timestamps: number[];
  /** Whether the frames were already there (no decoding was done). */
  hit: boolean;
  /** With face crops: the frames in which a face was found. */
  faceFrames?: number;
}

interface EntryMeta {
  format: number;
  key: string;
  sha256: string;
  sampling: Sampling;
  shape: [number, number, number, 3];
  timestamps: number[];
  faceFrames?: number;
  /** The file it was made from, for stale detection; the key does not depend on it. */
  source: { path: string; size: number; mtimeMs: number };
  created: string;
}

export interface StaleEntry {
  key: string;
  source: string;
  reason: 'missing' | 'changed';
}

export function frameCacheDir(dir?: string): string {
  return resolve(dir ?? (process.env.FVC_FRAME_CACHE_DIR || 'data/cache/frames'));
}

/** Every field set; `faces` and `adjacent` only when asked for, so entries made without them keep their keys. */
type Sampling = Required<Omit<FrameSampling, 'faces' | 'adjacent'>> & Pick<FrameSampling, 'faces' | 'adjacent'>;

/** Refuses a sampling no video can be cached with, naming the field (what get() checks first). */
export function checkFrameSampling(s: FrameSampling): void {
  normalise(s);
}

function normalise(s: FrameSampling): Sampling {
  if (!Number.isInteger(s.numFrames) || s.numFrames < 1) throw new FvcError('ERR_INVALID_ARGUMENT', `numFrames: ${s.numFrames} is not a positive integer`);
  if (s.faces && !(Number.isInteger(s.size ?? 256) && (s.size ?? 256) > 0)) throw new FvcError('ERR_INVALID_ARGUMENT', `size: face crops need a positive crop size`);
  if (s.adjacent && s.numFrames % 2) throw new FvcError('ERR_INVALID_ARGUMENT', `numFrames: ${s.numFrames} cannot be split into adjacent pairs (an even number is needed)`);
  return {
    numFrames: s.numFrames,
    size: s.size ?? 256,
    // A face crop is a square: letterboxing does not apply and must not split the key.
    letterbox: s.faces ? true : (s.letterbox ?? true),
    interpolation: s.interpolation ?? 'bilinear',
    ...(s.faces ? { faces: s.faces } : {}),
    ...(s.adjacent ? { adjacent: true } : {}),
  };
}

export class FrameCache {
  readonly dir: string;
  private readonly hasher: ContentHasher;
  /** Concurrent requests for one entry share one decode. */
  private readonly pending = new Map<string, Promise<CacheEntry>>();
  private readonly pendingFlows = new Map<string, Promise<string>>();

  constructor(dir?: string) {
    this.dir = frameCacheDir(dir);
    this.hasher = new ContentHasher(join(this.dir, 'hashes'));
  }

  private paths(key: string) {
    const sub = join(this.dir, 'entries', key.slice(0, 2));
    return { sub, npy: join(sub, `${key}.npy`), meta: join(sub, `${key}.json`), flow: (m: FlowMethod) => join(sub, `${key}.flow-${m}.npy`) };
  }

  async key(video: string, sampling: FrameSampling): Promise<{ key: string; sha256: string; sampling: Sampling }> {
    const s = normalise(sampling);
    const sha256 = await this.hasher.hash(resolve(video));
    const key = createHash('sha256')
      .update(JSON.stringify({ format: FORMAT, sha256, ...s }))
      .digest('hex');
    return { key, sha256, sampling: s };
  }

  /** The entry for `video`, decoding it only when no entry exists for its bytes and these parameters. */
  async get(video: string, sampling: FrameSampling, options: { signal?: AbortSignal } = {}): Promise<CacheEntry> {
    const path = resolve(video);
    const { key, sha256, sampling: s } = await this.key(path, sampling);
    const running = this.pending.get(key);
    if (running) return running;
    const job = this.load(path, key, sha256, s, options.signal).finally(() => this.pending.delete(key));
    this.pending.set(key, job);
    return job;
  }

  private async load(path: string, key: string, sha256: string, s: Sampling, signal?: AbortSignal): Promise<CacheEntry> {
    const p = this.paths(key);
    const meta = await readMeta(p.meta);
    const faceFrames = (n: number | undefined) => (n !== undefined ? { faceFrames: n } : {});
    if (meta && meta.key === key && existsSync(p.npy)) return { key, npyPath: p.npy, shape: meta.shape, timestamps: meta.timestamps, hit: true, ...faceFrames(meta.faceFrames) };
    await mkdir(p.sub, { recursive: true });
    const st = await stat(path);
    const r = await sampleFrames(path, {
      count: s.adjacent ? s.numFrames / 2 : s.numFrames,
      ...(s.adjacent ? { adjacent: true } : {}),
      size: s.size,
      letterbox: s.letterbox,
      interpolation: s.interpolation,
      threads: 1,
      npy: p.npy,
      returnData: false,
      ...(s.faces ? { faces: s.faces } : {}),
      ...(signal ? { signal } : {}),
    });
    const m: EntryMeta = {
      format: FORMAT,
      key,
      sha256,
      sampling: s,
      shape: r.shape,
      timestamps: r.timestamps,
      ...faceFrames(r.faces?.frames),
      source: { path, size: st.size, mtimeMs: st.mtimeMs },
      created: new Date().toISOString(),
    };
    // The metadata is written last: an entry without it is unfinished and gets redone.
    await writeFileAtomic(p.meta, JSON.stringify(m));
    return { key, npyPath: p.npy, shape: r.shape, timestamps: r.timestamps, hit: false, ...faceFrames(r.faces?.frames) };
  }

  /**
   * The entry's optical flow (uint8 .npy [N, H, W, 2], 128 + 8 x displacement in
   * pixels from each frame to the next), computed natively on first use and kept
   * beside the frames.
   */
  async flow(entry: CacheEntry, method: FlowMethod = 'dis', options: { signal?: AbortSignal } = {}): Promise<string> {
    const out = this.paths(entry.key).flow(method);
    if (existsSync(out)) return out;
    const running = this.pendingFlows.get(out);
    if (running) return running;
    const job = native.computeFlow({ frames: entry.npyPath, out, method, ...(options.signal ? { signal: options.signal } : {}) }).finally(() => this.pendingFlows.delete(out));
    this.pendingFlows.set(out, job);
    return job;
  }

  /** The frames of an entry as one buffer, row-major [N, H, W, 3]. */
  async read(entry: CacheEntry): Promise<Buffer> {
    const file = await readFile(entry.npyPath);
    const headerLen = 10 + file.readUInt16LE(8);
    return file.subarray(headerLen);
  }

  private async *entries(): AsyncGenerator<{ meta: EntryMeta; paths: ReturnType<FrameCache['paths']> }> {
    const root = join(this.dir, 'entries');
    if (!existsSync(root)) return;
    for (const sub of await readdir(root)) {
      for (const name of await readdir(join(root, sub))) {
        if (!name.endsWith('.json')) continue;
        const meta = await readMeta(join(root, sub, name));
        if (meta) yield { meta, paths: this.paths(meta.key) };
      }
    }
  }

  /** Entries whose source file is gone or no longer has the bytes they were made from. */
  async stale(): Promise<StaleEntry[]> {
    const out: StaleEntry[] = [];
    for await (const { meta } of this.entries()) {
      const src = meta.source.path;
      if (!existsSync(src)) out.push({ key: meta.key, source: src, reason: 'missing' });
      else if ((await this.hasher.hash(src)) !== meta.sha256) out.push({ key: meta.key, source: src, reason: 'changed' });
    }
    return out;
  }

  async prune(): Promise<StaleEntry[]> {
    const stale = await this.stale();
    for (const s of stale) {
      const p = this.paths(s.key);
      await rm(p.meta, { force: true });
      await rm(p.npy, { force: true });
      for (const m of FLOW_METHODS) await rm(p.flow(m), { force: true });
    }
    return stale;
  }

  async stats(): Promise<{ entries: number; bytes: number }> {
    let entries = 0;
    let bytes = 0;
    for await (const { paths } of this.entries()) {
      entries++;
      if (existsSync(paths.npy)) bytes += (await stat(paths.npy)).size;
    }
    return { entries, bytes };
  }
}

async function readMeta(path: string): Promise<EntryMeta | undefined> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as EntryMeta;
    return m.format === FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}
