/**
 * Decode benchmark: per-clip latency and sampled frames/s for N uniformly sampled
 * frames of 10-second 1280x720 H.264 clips (GOP 60 and 250) letterboxed to 256,
 * fvc against PyAV doing the same sampling and against a full sequential decode by
 * the ffmpeg CLI, in one run; then peak RSS for a 10-second against a 2-minute clip.
 *
 *   npm run bench:decode            (writes benchmarks/results/decode-<date>.md)
 */
import { resultsDir, smoke, workDir } from './env.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleFrames } from '../ts/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir();
mkdirSync(work, { recursive: true });
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
// The smoke run's clips are small: ffmpeg's per-pixel noise (geq) takes minutes at 720p on 2 cores.
const SIZE = smoke ? '320x180' : '1280x720';

function clip(name: string, seconds: number, gop: number): string {
  const out = join(work, name);
  if (!existsSync(out)) {
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=${SIZE}:r=30`,
      '-f',
      'lavfi',
      '-i',
      `nullsrc=s=${SIZE}:r=30,geq=random(1)*255:128:128`,
      '-filter_complex',
      '[0][1]blend=all_mode=overlay:all_opacity=0.15',
      '-t',
      String(seconds),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      String(gop),
      '-bf',
      '3',
      '-pix_fmt',
      'yuv420p',
      out,
    ]);
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function timeFvc(path: string, count: number): Promise<{ seconds: number[]; timestamps: number[] }> {
  const seconds: number[] = [];
  let timestamps: number[] = [];
  await sampleFrames(path, { count, size: 256 }); // warm-up: loads the addon, fills the page cache
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    const r = await sampleFrames(path, { count, size: 256 });
    seconds.push((performance.now() - t0) / 1000);
    timestamps = r.timestamps;
  }
  return { seconds, timestamps };
}

function timePyav(path: string, count: number): { seconds: number[]; timestamps: number[] } {
  execFileSync('/usr/bin/python3', [join(here, 'decode_pyav.py'), String(count), '256', '1', path], { timeout: 120_000 }); // warm-up
  const out = execFileSync('/usr/bin/python3', [join(here, 'decode_pyav.py'), String(count), '256', String(REPEATS), path], { timeout: 600_000 }).toString();
  return JSON.parse(out)[path];
}

function timeFfmpegFull(path: string): number[] {
  const seconds: number[] = [];
  for (let i = 0; i < Math.min(REPEATS, 3); i++) {
    const t0 = performance.now();
    execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-vf', 'scale=256:144:flags=bilinear,pad=256:256:0:56', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null']);
    seconds.push((performance.now() - t0) / 1000);
  }
  return seconds;
}

/** Peak resident set (MiB) of a whole child process, from GNU time. */
function rss(cmd: string, args: string[]): string {
  try {
    return measureRss(cmd, args).toFixed(0);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 'failed';
  }
}

function measureRss(cmd: string, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  const m = /maxrss_kb=(\d+)/.exec(r.stderr?.toString() ?? '');
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status}, signal ${r.signal}): ${r.stderr?.toString().slice(-500)}`);
  return Number(m[1]) / 1024;
}

const rows: string[] = [];
const timing = process.env.BENCH_PHASE !== 'rss';
const seconds = smoke ? 2 : 10;
const clips = [
  { name: 'gop60', path: clip(`${SIZE}_${seconds}s_gop60.mp4`, seconds, 60) },
  { name: 'gop250', path: clip(`${SIZE}_${seconds}s_gop250.mp4`, seconds, 250) },
];
for (const c of timing ? clips : []) {
  const full = median(timeFfmpegFull(c.path));
  for (const count of smoke ? [8] : [8, 16]) {
    const f = await timeFvc(c.path, count);
    const p = timePyav(c.path, count);
    const same = JSON.stringify(f.timestamps.map((t) => t.toFixed(4))) === JSON.stringify(p.timestamps.map((t) => t.toFixed(4)));
    const fm = median(f.seconds);
    const pm = median(p.seconds);
    rows.push(
      `| ${SIZE} ${seconds} s, GOP ${c.name.slice(3)} | ${count} | ${(fm * 1000).toFixed(1)} | ${(count / fm).toFixed(0)} | ${(pm * 1000).toFixed(1)} | ${(count / pm).toFixed(0)} | ${(pm / fm).toFixed(2)}x | ${(full * 1000).toFixed(0)} | ${same ? 'yes' : 'no'} |`,
    );
    process.stderr.write(`${c.name} n=${count}: fvc ${(fm * 1000).toFixed(1)} ms, PyAV ${(pm * 1000).toFixed(1)} ms, ffmpeg full ${(full * 1000).toFixed(0)} ms\n`);
  }
}

const long = clip('720p_120s_gop60.mp4', 120, 60);
const rssScript = join(here, 'decode_rss.mjs');
const rssRows = [
  `| fvc (node + addon) | ${rss(process.execPath, [rssScript, clips[0]!.path])} | ${rss(process.execPath, [rssScript, long])} |`,
  `| PyAV | ${rss('/usr/bin/python3', [join(here, 'decode_pyav.py'), '16', '256', '1', clips[0]!.path])} | ${rss('/usr/bin/python3', [join(here, 'decode_pyav.py'), '16', '256', '1', long])} |`,
];

const date = new Date().toISOString().slice(0, 10);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `### Decode benchmark, ${date}

Machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. Command: \`npm run bench:decode\` (BENCH_REPEATS=${REPEATS}); medians of ${REPEATS} runs after one warm-up, one clip at a time, decoder threads automatic in both.

| clip | frames | fvc ms/clip | fvc frames/s | PyAV ms/clip | PyAV frames/s | fvc speed-up | ffmpeg CLI full decode ms | same timestamps |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Peak RSS (MiB) sampling 16 frames:

| decoder | 10 s clip | 2 min clip |
|---|---|---|
${rssRows.join('\n')}
`;
writeFileSync(join(resultsDir(), `decode-${date}${timing ? '' : '-rss'}.md`), report);
process.stdout.write(report);
