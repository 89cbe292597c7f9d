/** Shared fixtures: test videos made with the ffmpeg CLI, and ffmpeg/ffprobe as references. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = join(root, 'test-artifacts');
export const videoDir = join(artifacts, 'videos');
mkdirSync(videoDir, { recursive: true });
// Training tracks to MLflow by default: keep the store of test runs out of the checkout.
process.env.MLFLOW_TRACKING_URI ??= join(artifacts, 'mlruns');

/** Make (once) a video with ffmpeg; `args` go between the global flags and the output. */
export function makeVideo(name: string, args: string[]): string {
  const out = join(videoDir, name);
  if (!existsSync(out)) {
    const tmp = join(videoDir, `.tmp-${process.pid}-${name}`);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(tmp, out);
  }
  return out;
}

/** A 320x240 H.264 clip from testsrc2 with the given GOP and B-frames. */
export function h264(name: string, opts: { seconds?: number; fps?: number; gop?: number; size?: string; extra?: string[]; vf?: string } = {}): string {
  const { seconds = 2, fps = 25, gop = 12, size = '320x240' } = opts;
  return makeVideo(name, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=${size}:r=${fps}`,
    '-t',
    String(seconds),
    ...(opts.vf ? ['-vf', opts.vf] : []),
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
    ...(opts.extra ?? []),
  ]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- ffprobe's JSON, read field by field in each test
export function ffprobeJson(path: string, args: string[]): any {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', ...args, path], { maxBuffer: 1 << 28 }).toString());
}

/** Presentation times (s) of every decoded frame, in output order, per ffprobe. */
export function ffprobeFrameTimes(path: string): number[] {
  const j = ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time']);
  return j.frames.map((f: { best_effort_timestamp_time: string }) => Number(f.best_effort_timestamp_time));
}

export const SWS_FLAGS = 'bilinear+accurate_rnd+full_chroma_int';

/** Every frame as packed RGB24 by the ffmpeg CLI (autorotated, optional filter). */
export function ffmpegRgbFrames(path: string, width: number, height: number, vf?: string, inputArgs: string[] = []): Buffer[] {
  const out = execFileSync(
    'ffmpeg',
    // Converted by an explicit scale filter with fvc's swscale flags (the CLI's
    // implicit conversion ignores -sws_flags), so the right frame matches exactly.
    ['-v', 'error', '-nostdin', ...inputArgs, '-i', path, '-vf', vf ?? `scale=iw:ih:flags=${SWS_FLAGS}`, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 30 },
  );
  const size = width * height * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + size <= out.length; o += size) frames.push(out.subarray(o, o + size));
  return frames;
}

export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Index of the frame on screen at time t: the last with pts <= t. */
export function frameAt(times: number[], t: number): number {
  let best = -1;
  for (let i = 0; i < times.length; i++) if ((times[i] as number) <= t + 1e-9 && (best < 0 || (times[i] as number) >= (times[best] as number))) best = i;
  return best;
}

export function frameSlice(data: Buffer, index: number, w: number, h: number): Buffer {
  const n = w * h * 3;
  return data.subarray(index * n, (index + 1) * n);
}

/** Every value of a .npy file, flattened, as Debian's numpy reads it. */
export function npyValues(path: string): number[] {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).ravel().tolist()))', path]).toString());
}

export function runCli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin/fvc.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, maxBuffer: 1 << 28 });
  return { code: r.status ?? 1, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

/**
 * 48 frame-cache-shaped clips (uint8 [8, 48, 48, 3]) with a known answer: fakes
 * (odd index) carry a bright 14 px square somewhere, reals do not.
 */
export function artefactClips(dir: string): Array<{ npy: string; label: number }> {
  const script = `
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(0)
for i in range(48):
    label = i % 2
    x = rng.integers(0, 120, size=(8, 48, 48, 3), dtype=np.uint8)
    if label:
        r, c = rng.integers(4, 28, size=2)
        x[:, r:r + 14, c:c + 14, :] = 230
    np.save(f"{out}/clip_{i:02d}_{label}.npy", x)
`;
  execFileSync('/usr/bin/python3', ['-c', script, dir]);
  return Array.from({ length: 48 }, (_, i) => ({ npy: join(dir, `clip_${String(i).padStart(2, '0')}_${i % 2}.npy`), label: i % 2 }));
}
