/**
 * Deep-feature extraction. Part 1: videos/s of fvc's extraction (decode into the
 * frame cache, batched LibTorch inference on native threads, Parquet) for
 * inception_v3 and r2plus1d_18 at their presets, against Python doing the same
 * (benchmarks/extract_python.py: PyAV + torchvision, same frames, same threads, same
 * batch), in one run; each fvc repeat starts with empty feature and frame-cache
 * folders, so it decodes and extracts everything, as Python does. Part 2: the
 * extraction work of 5f + 5g + 5h over 5 folds, once per backbone (fvc's store, what
 * `fvc train` does) against once per model and fold (the seed's scripts, each
 * extracting inside its own fold), counting extractions as well as seconds.
 *
 *   npm run bench:extract       (writes benchmarks/results/extract-<date>.md)
 *   BENCH_VIDEOS=10 BENCH_REPEATS=3 BENCH_BATCH=4 BENCH_THREADS=2 BENCH_FOLDS=5 [BENCH_DEVICE=cuda] npm run bench:extract
 */
import { resultsDir, smoke, workDir } from './env.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { architectureInfo, samplingFor } from '../ts/deep/presets.js';
import { extractEmbeddings } from '../ts/extract/store.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('extract');
const VIDEOS = Number(process.env.BENCH_VIDEOS ?? 10);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 4);
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
const FOLDS = Number(process.env.BENCH_FOLDS ?? 5);
const DEVICE = (process.env.BENCH_DEVICE ?? 'cpu') as 'cpu' | 'cuda';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Stage 3-shaped inputs: 5 s of 256x256 H.264 at 25 fps, GOP 50, with noise so frames differ. */
function makeVideos(): string[] {
  const dir = join(work, 'videos');
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: VIDEOS }, (_, i) => {
    const path = join(dir, `clip_${i}.mp4`);
    execFileSync('ffmpeg', [
      '-y',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=256x256:rate=25:duration=${smoke ? 1 : 5},noise=alls=${10 + i}:allf=t`,
      '-c:v',
      'libx264',
      '-g',
      '50',
      '-pix_fmt',
      'yuv420p',
      path,
    ]);
    return path;
  });
}

let runId = 0;
/** One extraction from nothing: fresh feature and frame-cache folders. */
async function coldExtraction(backbone: string, videos: string[]): Promise<{ seconds: number; extracted: number; decoded: number }> {
  const dir = join(work, 'runs', String(runId++));
  rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  const r = await extractEmbeddings({
    backbone,
    weights: { kind: 'random', seed: 0 },
    videos,
    featuresDir: join(dir, 'features'),
    frameCacheDir: join(dir, 'cache'),
    threads: THREADS,
    batchSize: BATCH,
    device: DEVICE,
    quiet: true,
    strict: true,
  });
  const seconds = (performance.now() - t) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return { seconds, extracted: r.extracted, decoded: r.decoded };
}

async function throughput(videos: string[]): Promise<string[]> {
  const rows: string[] = [];
  for (const backbone of ['inception_v3', 'r2plus1d_18']) {
    const { preset } = await architectureInfo(backbone);
    const s = await samplingFor(backbone, {});
    const config = { backbone, frames: s.numFrames, frame_size: s.frameSize, crop: s.cropSize, mean: preset.mean, std: preset.std, batch: BATCH, threads: THREADS, repeats: REPEATS, device: DEVICE };
    await coldExtraction(backbone, videos.slice(0, 1)); // warm-up: addon, model build, allocator
    const fvc: number[] = [];
    const py: number[] = [];
    // Alternate the two sides, so drifting load on a shared machine hits both.
    for (let i = 0; i < REPEATS; i++) {
      const r = await coldExtraction(backbone, videos);
      if (r.extracted !== videos.length || r.decoded !== videos.length) throw new Error(`${backbone}: a cold run extracted ${r.extracted} and decoded ${r.decoded} of ${videos.length}`);
      fvc.push(r.seconds);
      const out = JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'extract_python.py'), JSON.stringify({ ...config, repeats: 1 }), ...videos], { maxBuffer: 1 << 20 }).toString()) as {
        seconds: number[];
        finite: boolean;
      };
      if (!out.finite) throw new Error(`${backbone}: Python's features are not finite`);
      py.push(...out.seconds);
    }
    const [f, p] = [median(fvc), median(py)];
    const input = `${s.numFrames} x ${s.cropSize} (of ${s.frameSize})`;
    rows.push(
      `| ${backbone} | ${input} | ${BATCH} | ${(videos.length / f).toFixed(2)} | ${((videos.length * s.numFrames) / f).toFixed(1)} | ${(videos.length / p).toFixed(2)} | ${((videos.length * s.numFrames) / p).toFixed(1)} | **${(p / f).toFixed(2)}x** |`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  return rows;
}

/** 5f + 5g + 5h over the folds: extraction once per backbone against once per model and fold. */
async function folds(videos: string[]): Promise<string[]> {
  const backbones = ['inception_v3', 'i3d_r50', 'r2plus1d_18'];
  const shared = join(work, 'shared');
  rmSync(shared, { recursive: true, force: true });
  let t = performance.now();
  let extracted = 0;
  for (let fold = 1; fold <= FOLDS; fold++)
    for (const backbone of backbones) {
      const r = await extractEmbeddings({
        backbone,
        weights: { kind: 'random', seed: 0 },
        videos,
        featuresDir: join(shared, 'features'),
        frameCacheDir: join(shared, 'cache'),
        threads: THREADS,
        batchSize: BATCH,
        device: DEVICE,
        quiet: true,
        strict: true,
      });
      extracted += r.extracted;
    }
  const once = { seconds: (performance.now() - t) / 1000, extracted };
  t = performance.now();
  extracted = 0;
  for (let fold = 1; fold <= FOLDS; fold++) for (const backbone of backbones) extracted += (await coldExtraction(backbone, videos)).extracted;
  const each = { seconds: (performance.now() - t) / 1000, extracted };
  rmSync(shared, { recursive: true, force: true });
  return [
    `| once per (video, backbone, weights, sampling): fvc's store | ${once.seconds.toFixed(1)} | ${once.extracted} (${(once.extracted / videos.length).toFixed(0)} per video) |`,
    `| once per model and fold (the seed's scripts) | ${each.seconds.toFixed(1)} | ${each.extracted} (${(each.extracted / videos.length).toFixed(0)} per video) |`,
    `| ratio | **${(each.seconds / once.seconds).toFixed(1)}x** | |`,
  ];
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const videos = makeVideos();
  const rows = await throughput(videos);
  const foldRows = await folds(videos);
  const date = new Date().toISOString().slice(0, 10);
  const versions = execFileSync('/usr/bin/python3', ['-c', 'import torch, torchvision, av; print(torch.__version__, torchvision.__version__, av.__version__)']).toString().trim().split(' ');
  const out = [
    `### ${date} — ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${THREADS} threads, ${DEVICE}`,
    '',
    `Command: \`BENCH_VIDEOS=${VIDEOS} BENCH_REPEATS=${REPEATS} BENCH_BATCH=${BATCH} BENCH_THREADS=${THREADS} BENCH_FOLDS=${FOLDS} npm run bench:extract\`; ${VIDEOS} videos of 5 s, 256x256 H.264 (Stage 3's output shape). Python peer: python3-torch ${versions[0]}, torchvision ${versions[1]}, PyAV ${versions[2]}. Medians over ${REPEATS} alternating cold runs (fvc: empty feature and frame-cache folders each time, so decode + inference + Parquet).`,
    '',
    '| backbone | frames x crop | clips per batch | fvc videos/s | fvc frames/s | PyAV + torchvision videos/s | Python frames/s | fvc / Python throughput |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `5f + 5g + 5h over ${FOLDS} folds (extraction only; the XGBoost fits are the same on both sides):`,
    '',
    '| extraction | seconds | videos extracted |',
    '|---|---|---|',
    ...foldRows,
    '',
  ].join('\n');
  writeFileSync(join(resultsDir(), `extract-${date}.md`), out);
  process.stdout.write(out);
}

await main();
