/**
 * `fvc corpus`: a deterministic synthetic corpus of real H.264 MP4 clips for demos
 * and tests. Reals come from procedural sources; each fake is the same source
 * graph as one real (sharing its source_id, so group-aware folds keep them
 * together) with a manipulation applied before the one encode, so compression
 * alone does not give fakes away (except the double-compression kind).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { toCsv } from '../util/csv.js';
import { execTool } from '../util/exec.js';
import { tempName, writeFileAtomic } from '../util/fs.js';
import { mapPool } from '../util/pool.js';
import { createProgress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { DEFAULT_MANIPULATIONS, MANIPULATIONS, manipulationGraph, type Manipulation } from './manipulations.js';
import { SOURCE_KINDS, sourceGraph, type SourceKind } from './sources.js';

export interface CorpusOptions {
  out: string;
  /** Total clips, reals and fakes together (default 200). */
  videos?: number;
  seed?: number;
  /** Base frame size; clips vary around it (default 320x240). */
  width?: number;
  height?: number;
  /** Base duration in seconds; clips vary by +-20% (default 2). */
  duration?: number;
  /** Fraction of fakes (default 0.5). */
  fakeRatio?: number;
  /** The manipulations fakes are made with, in turn (default DEFAULT_MANIPULATIONS: all but lag). */
  manipulations?: readonly Manipulation[];
  /**
   * How plain the fakes' traces are (default 1, subtle). Values above 1 exaggerate
   * them, e.g. for a smoke test that a small model learns anything in a few epochs;
   * below 1 hides them further. The clips are otherwise the same at any strength.
   */
  strength?: number;
  /** Parallel ffmpeg processes (default: one per core). */
  concurrency?: number;
  /** Replace a corpus made with other options. */
  force?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface CorpusClip {
  video_path: string;
  label: 0 | 1;
  source_id: string;
  manipulation: Manipulation | 'none';
  source: SourceKind;
  width: number;
  height: number;
  fps: number;
  duration: number;
  gop: number;
}

export interface CorpusResult {
  dir: string;
  metadataPath: string;
  clips: CorpusClip[];
  generated: number;
  skipped: number;
}

export const METADATA_COLUMNS = ['video_path', 'label', 'source_id', 'manipulation', 'source', 'width', 'height', 'fps', 'duration', 'gop'] as const;

interface PlannedClip extends CorpusClip {
  /** Filtergraph ending in [v]. */
  graph: string;
  firstPassCrf?: number;
}

const even = (v: number) => Math.max(2, 2 * Math.round(v / 2));

function planCorpus(o: Required<Pick<CorpusOptions, 'videos' | 'seed' | 'width' | 'height' | 'duration' | 'fakeRatio' | 'manipulations' | 'strength'>>): PlannedClip[] {
  const rng = new Rng(o.seed);
  const nFake = Math.min(o.videos - 1, Math.round(o.videos * o.fakeRatio));
  const nReal = o.videos - nFake;
  const sizes: Array<[number, number]> = [
    [o.width, o.height],
    [o.width, o.height],
    [o.height, o.width],
    [even(o.width * 1.1), even(o.height * 1.2)],
    [even((o.height * 16) / 9), o.height],
  ];
  const reals: PlannedClip[] = [];
  const sources: string[] = [];
  for (let i = 0; i < nReal; i++) {
    const clipRng = rng.fork(i);
    const kind = SOURCE_KINDS[i % SOURCE_KINDS.length] as SourceKind;
    const [w, h] = clipRng.pick(sizes);
    const fps = clipRng.pick([24, 25, 30]);
    const duration = Math.round(o.duration * clipRng.range(0.8, 1.2) * 10) / 10;
    const gop = clipRng.pick([12, 25, 50, 250]);
    const source = sourceGraph(kind, clipRng.fork(1), w, h, fps, duration);
    sources.push(source);
    reals.push({
      video_path: `videos/real_${String(i).padStart(4, '0')}.mp4`,
      label: 0,
      source_id: `src_${String(i).padStart(4, '0')}`,
      manipulation: 'none',
      source: kind,
      width: w,
      height: h,
      fps,
      duration,
      gop,
      graph: `${source};[src]null[v]`,
    });
  }
  const order = rng.shuffle(Array.from({ length: o.manipulations.length }, (_, i) => i));
  const fakes: PlannedClip[] = [];
  for (let j = 0; j < nFake; j++) {
    const real = reals[j % nReal] as PlannedClip;
    const source = sources[j % nReal] as string;
    const kind = o.manipulations[order[j % order.length] as number] as Manipulation;
    const manip = manipulationGraph(kind, rng.fork(10_000 + j), real.width, real.height, o.strength);
    fakes.push({
      ...real,
      video_path: `videos/fake_${String(j).padStart(4, '0')}.mp4`,
      label: 1,
      manipulation: kind,
      // Same source graph as its real: only the manipulation differs.
      graph: `${source};${manip.graph}`,
      ...(manip.firstPassCrf !== undefined ? { firstPassCrf: manip.firstPassCrf } : {}),
    });
  }
  return [...reals, ...fakes];
}

function encodeArgs(graph: string, output: string, clip: CorpusClip, crf: number, gop: number, input?: string): string[] {
  const head = input ? ['-i', input, '-filter_complex', graph] : ['-filter_complex', graph];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    ...head,
    '-map',
    '[v]',
    '-t',
    String(clip.duration),
    '-r',
    String(clip.fps),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    String(crf),
    '-g',
    String(gop),
    '-pix_fmt',
    'yuv420p',
    // One encoder thread and bit-exact muxing make the bytes a function of the seed alone.
    '-threads',
    '1',
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
    '-map_metadata',
    '-1',
    '-movflags',
    '+faststart',
    '-an',
    // The format by name: temporary names carry no extension.
    '-f',
    'mp4',
    output,
  ];
}

async function renderClip(dir: string, clip: PlannedClip, signal?: AbortSignal): Promise<void> {
  const target = join(dir, clip.video_path);
  const tmp = tempName(target);
  const run = (args: string[]) => execTool('ffmpeg', args, { timeoutMs: 300_000, ...(signal ? { signal } : {}) });
  try {
    if (clip.firstPassCrf !== undefined) {
      const first = tempName(target);
      try {
        await run(encodeArgs(clip.graph, first, clip, clip.firstPassCrf, Math.max(5, Math.round(clip.gop / 3))));
        await run(encodeArgs('[0:v]null[v]', tmp, clip, 23, clip.gop, first));
      } finally {
        await rm(first, { force: true });
      }
    } else {
      await run(encodeArgs(clip.graph, tmp, clip, 23, clip.gop));
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function generateCorpus(options: CorpusOptions): Promise<CorpusResult> {
  const o = {
    videos: options.videos ?? 200,
    seed: options.seed ?? 1,
    width: options.width ?? 320,
    height: options.height ?? 240,
    duration: options.duration ?? 2,
    fakeRatio: options.fakeRatio ?? 0.5,
    manipulations: [...(options.manipulations ?? DEFAULT_MANIPULATIONS)],
    strength: options.strength ?? 1,
  };
  const unknown = o.manipulations.filter((m) => !(MANIPULATIONS as readonly string[]).includes(m));
  if (!o.manipulations.length || unknown.length)
    throw new FvcError('ERR_INVALID_ARGUMENT', `manipulations: ${unknown.length ? `unknown ${unknown.join(', ')}; ` : ''}choose from ${MANIPULATIONS.join(', ')}`);
  if (!Number.isInteger(o.videos) || o.videos < 2) throw new FvcError('ERR_INVALID_ARGUMENT', 'videos: must be an integer >= 2 (one real and one fake at least)');
  if (!Number.isInteger(o.seed)) throw new FvcError('ERR_INVALID_ARGUMENT', 'seed: must be an integer');
  for (const k of ['width', 'height'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 32 || o[k] > 4096 || o[k] % 2) throw new FvcError('ERR_INVALID_ARGUMENT', `${k}: must be an even integer between 32 and 4096`);
  if (!(o.duration >= 0.2 && o.duration <= 600)) throw new FvcError('ERR_INVALID_ARGUMENT', 'duration: must be between 0.2 and 600 seconds');
  if (!(o.fakeRatio > 0 && o.fakeRatio < 1)) throw new FvcError('ERR_INVALID_ARGUMENT', 'fakeRatio: must be between 0 and 1 (exclusive)');
  if (!(o.strength > 0 && o.strength <= 10)) throw new FvcError('ERR_INVALID_ARGUMENT', 'strength: must be above 0 and at most 10');

  const dir = options.out;
  const manifestPath = join(dir, 'corpus.json');
  const { manipulations, strength, ...base } = o;
  // A corpus of every kind at the default strength keeps the manifest it always had, so existing corpora stay valid.
  const manifest = JSON.stringify({ generator: 'fvc corpus', version: 1, ...base, ...(options.manipulations ? { manipulations } : {}), ...(strength !== 1 ? { strength } : {}) }, null, 2) + '\n';
  if (existsSync(manifestPath)) {
    const existing = await readFile(manifestPath, 'utf8');
    if (existing !== manifest) {
      if (!options.force)
        throw new FvcError('ERR_INVALID_ARGUMENT', `${dir}: already holds a corpus made with other options (see ${manifestPath}); choose another --out or pass --force to replace it`);
      await rm(join(dir, 'videos'), { recursive: true, force: true });
    }
  }
  await mkdir(join(dir, 'videos'), { recursive: true });
  await writeFileAtomic(manifestPath, manifest);

  const plan = planCorpus(o);
  const pending = plan.filter((c) => !existsSync(join(dir, c.video_path)));
  const progress = createProgress({ label: 'corpus', total: pending.length, silent: options.quiet ?? false });
  await mapPool(pending, options.concurrency ?? availableParallelism(), async (clip) => {
    await renderClip(dir, clip, options.signal);
    progress.tick(clip.video_path);
  });
  if (pending.length > 0) progress.done(`${pending.length} clip(s) written to ${dir}`);

  const clips: CorpusClip[] = plan.map(({ graph: _g, firstPassCrf: _f, ...clip }) => clip);
  const metadataPath = join(dir, 'metadata.csv');
  await writeFileAtomic(metadataPath, toCsv(METADATA_COLUMNS, clips as unknown as Record<string, string | number>[]));
  return { dir, metadataPath, clips, generated: pending.length, skipped: plan.length - pending.length };
}
