/**
 * Stage 2 and frame-cache benchmark.
 *
 * 1. Stage 2 throughput (videos/s) on 1280x720 and 256x256 clips, one worker and one
 *    per core, against the Python peer (PyAV sampling + numpy features,
 *    benchmarks/stage2_python.py) with the same worker counts, in the same run.
 * 2. The frame cache's effect: 5 folds x 3 models each reading every video's
 *    sampled frames, decoding each time (cache off) against one cache build then
 *    reads (cache on).
 *
 *   npm run bench:stage2        (writes benchmarks/results/stage2-<date>.md)
 */
import { resultsDir, smoke, workDir } from './env.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameCache, runFeatureStage, sampleFrames } from '../ts/index.js';
import { mapPool } from '../ts/util/pool.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('stage2');
mkdirSync(work, { recursive: true });
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CLIPS = Number(process.env.BENCH_CLIPS ?? 8);
const NUM_FRAMES = 8;
const cores = availableParallelism();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function clips(kind: string, size: string, seconds: number): { metadata: string; paths: string[] } {
  const dir = join(work, kind);
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < CLIPS; i++) {
    const out = join(dir, `clip_${i}.mp4`);
    if (!existsSync(out)) {
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `testsrc2=s=${size}:r=30,noise=alls=${4 + i}:allf=t`,
        '-t',
        String(seconds),
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-g',
        '60',
        '-bf',
        '3',
        '-pix_fmt',
        'yuv420p',
        out,
      ]);
    }
    paths.push(out);
  }
  const metadata = join(dir, 'metadata.csv');
  writeFileSync(metadata, `video_path,label\n${paths.map((p, i) => `${p},${i % 2}`).join('\n')}\n`);
  return { metadata, paths };
}

async function fvcStage2(metadata: string, workers: number): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const out = join(work, `out-${workers}`);
    rmSync(out, { recursive: true, force: true });
    const t = performance.now();
    await runFeatureStage({ stage: 'stage2', metadata, out, numFrames: NUM_FRAMES, workers, quiet: true });
    runs.push((performance.now() - t) / 1000);
  }
  return median(runs);
}

function pythonStage2(paths: string[], workers: number): number {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const out = execFileSync('/usr/bin/python3', [join(here, 'stage2_python.py'), String(NUM_FRAMES), String(workers), ...paths], { maxBuffer: 1 << 24 });
    runs.push((JSON.parse(out.toString()) as { seconds: number }).seconds);
  }
  return median(runs);
}

const rows: string[] = [];
const clipSeconds = smoke ? 1 : 4;
for (const [kind, size, seconds] of [
  ['720p', '1280x720', clipSeconds],
  ['256', '256x256', clipSeconds],
] as const) {
  const { metadata, paths } = clips(kind, size, seconds);
  await fvcStage2(metadata, 1); // warm-up: addon load, page cache
  for (const workers of smoke ? [1] : [1, cores]) {
    const f = await fvcStage2(metadata, workers);
    const p = pythonStage2(paths, workers);
    const fv = CLIPS / f;
    const pv = CLIPS / p;
    rows.push(`| ${size} ${seconds} s | ${workers} | ${fv.toFixed(2)} | ${(fv / workers).toFixed(2)} | ${pv.toFixed(2)} | ${(fv / pv).toFixed(2)}x |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
}

// Cache effect: 5 folds x 3 models, each reading every video's frames once.
const { paths: cachePaths } = clips('256', '256x256', clipSeconds);
const READS = smoke ? 1 : 15;
const sampling = { numFrames: NUM_FRAMES, size: 224 };
const tOff = performance.now();
for (let r = 0; r < READS; r++) await mapPool(cachePaths, cores, (p) => sampleFrames(p, { count: NUM_FRAMES, size: 224, threads: 1 }));
const off = (performance.now() - tOff) / 1000;
const cacheDir = join(work, 'cache');
rmSync(cacheDir, { recursive: true, force: true });
const cache = new FrameCache(cacheDir);
const tOn = performance.now();
for (let r = 0; r < READS; r++) await mapPool(cachePaths, cores, async (p) => cache.read(await cache.get(p, sampling)));
const on = (performance.now() - tOn) / 1000;

const date = new Date().toISOString().slice(0, 10);
const report = `### ${date} — ${cores} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB

Command: \`npm run bench:stage2\` (BENCH_REPEATS=${REPEATS}, ${CLIPS} clips per size, ${NUM_FRAMES} frames per video); medians.

| clips | workers | fvc videos/s | fvc videos/s per worker | Python (PyAV + numpy) videos/s | fvc / Python |
|---|---|---|---|---|---|
${rows.join('\n')}

Frame cache, ${CLIPS} 256x256 clips, ${NUM_FRAMES} frames at 224, 5 folds x 3 models = ${READS} reads of every video, ${cores} in parallel:

| cache | seconds | videos decoded |
|---|---|---|
| off (decode every read) | ${off.toFixed(2)} | ${READS * CLIPS} |
| on (one build, then reads) | ${on.toFixed(2)} | ${CLIPS} |
| speed-up | ${(off / on).toFixed(1)}x | |
`;
writeFileSync(join(resultsDir(), `stage2-${date}.md`), report);
process.stdout.write(report);
