import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FvcError, probe, sampleFrames } from '../ts/index.js';
import { SWS_FLAGS, ffmpegRgbFrames, ffprobeFrameTimes, frameAt, frameSlice, h264, makeVideo, meanAbsDiff, psnr } from './helpers.js';

// The reference converts with the same swscale flags, so the right frame matches
// to within rounding; neighbouring frames of these clips differ by several levels.
const MAX_MAD = 0.25;
const MIN_PSNR = 45;

async function checkAgainstFfmpeg(path: string, w: number, h: number, count: number, vf?: string) {
  const times = ffprobeFrameTimes(path);
  const ref = ffmpegRgbFrames(path, w, h, vf);
  assert.is(ref.length, times.length, 'ffmpeg frame count matches ffprobe');
  const r = await sampleFrames(path, { count, size: 0, letterbox: false });
  assert.equal(r.shape, [count, h, w, 3]);
  for (let i = 0; i < count; i++) {
    const target = r.targets[i] as number;
    const k = frameAt(times, target);
    assert.ok(k >= 0, `a frame exists at or before ${target}`);
    assert.ok(Math.abs((r.timestamps[i] as number) - (times[k] as number)) < 1e-6, `frame ${i}: timestamp ${r.timestamps[i]} is the frame on screen at ${target} (${times[k]})`);
    const ours = frameSlice(r.data as Buffer, i, w, h);
    const mad = meanAbsDiff(ours, ref[k] as Buffer);
    assert.ok(mad < MAX_MAD, `frame ${i} (t=${r.timestamps[i]}): mean abs diff ${mad.toFixed(3)} >= ${MAX_MAD}`);
    assert.ok(psnr(ours, ref[k] as Buffer) > MIN_PSNR, `frame ${i}: PSNR too low`);
  }
  return r;
}

test('8 sampled frames equal the ffmpeg CLI frames at the same timestamps (GOP 12, B-frames)', async () => {
  await checkAgainstFfmpeg(h264('gop12.mp4', { gop: 12 }), 320, 240, 8);
});

test('16 frames from a long-GOP clip (GOP 250) match ffmpeg and seek nothing needlessly', async () => {
  const r = await checkAgainstFfmpeg(h264('gop250.mp4', { gop: 250, seconds: 4 }), 320, 240, 16);
  assert.is(r.stats.seeks, 0, 'one GOP: decoding continues instead of seeking');
});

test('targets are the centres of N equal segments of the duration', async () => {
  const r = await sampleFrames(h264('gop12.mp4'), { count: 4, size: 64 });
  assert.equal(
    r.targets.map((t) => Number(t.toFixed(6))),
    [0.25, 0.75, 1.25, 1.75],
  );
});

test('seeking gives exactly what sequential decoding gives, and seeks on short GOPs', async () => {
  const path = h264('gop25_10s.mp4', { gop: 25, seconds: 10 });
  const a = await sampleFrames(path, { count: 8, size: 128 });
  const b = await sampleFrames(path, { count: 8, size: 128, seek: false, skipNonReference: false });
  assert.ok(a.stats.seeks > 0, 'seeks between distant targets');
  assert.ok(a.stats.decodedFrames < b.stats.decodedFrames * 0.8, `seeking decodes fewer frames (${a.stats.decodedFrames} vs ${b.stats.decodedFrames})`);
  assert.equal(a.timestamps, b.timestamps);
  assert.ok((a.data as Buffer).equals(b.data as Buffer), 'identical pixels');
});

test('a raw H.264 elementary stream (no container, no timestamps) samples the frames its MP4 twin gives', async () => {
  const mp4 = h264('elementary_twin.mp4', { seconds: 2, gop: 12 });
  const raw = makeVideo('elementary.h264', ['-i', mp4, '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264']);
  const a = await sampleFrames(raw, { count: 6, size: 64, threads: 1 });
  const b = await sampleFrames(mp4, { count: 6, size: 64, threads: 1 });
  assert.equal(
    a.timestamps.map((t) => t.toFixed(2)),
    b.timestamps.map((t) => t.toFixed(2)),
  );
  assert.ok((a.data as Buffer).equals(b.data as Buffer), 'same pixels');
  assert.equal(a.warnings, []);
});

test('letterbox: 320x240 -> 256x256 with the picture at y=32..224 and black bars', async () => {
  const path = h264('gop12.mp4');
  const r = await sampleFrames(path, { count: 2, size: 256 });
  assert.equal(r.geometry, { width: 256, height: 256, contentWidth: 256, contentHeight: 192, offsetX: 0, offsetY: 32 });
  const d = r.data as Buffer;
  const px = (f: number, x: number, y: number) => d.readUInt8(f * 256 * 256 * 3 + (y * 256 + x) * 3);
  for (const y of [0, 31, 224, 255]) for (const x of [0, 128, 255]) assert.is(px(0, x, y), 0, `bar pixel (${x},${y}) is black`);
  // Compare the content to ffmpeg's own scale + pad of the same frames.
  const times = ffprobeFrameTimes(path);
  const ref = ffmpegRgbFrames(path, 256, 256, `scale=256:192:flags=${SWS_FLAGS},pad=256:256:0:32:black`);
  for (let i = 0; i < 2; i++) {
    const k = frameAt(times, r.targets[i] as number);
    const p = psnr(frameSlice(d, i, 256, 256), ref[k] as Buffer);
    assert.ok(p > 40, `letterboxed frame ${i} PSNR ${p.toFixed(1)} vs ffmpeg scale+pad`);
  }
});

test('portrait and native-aspect geometry', async () => {
  const portrait = h264('portrait.mp4', { size: '240x320' });
  const a = await sampleFrames(portrait, { count: 1, size: 128 });
  assert.equal(a.geometry, { width: 128, height: 128, contentWidth: 96, contentHeight: 128, offsetX: 16, offsetY: 0 });
  const b = await sampleFrames(portrait, { count: 1, size: 160, letterbox: false });
  assert.equal(b.shape, [1, 160, 120, 3]);
});

test('rotation metadata: frames come out as a player shows them (matches ffmpeg autorotate)', async () => {
  const src = h264('gop12.mp4');
  const rotated = makeVideo('rotated90.mp4', ['-i', src, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
  const times = ffprobeFrameTimes(rotated);
  const r = await sampleFrames(rotated, { count: 4, size: 0, letterbox: false });
  assert.equal(r.shape, [4, 320, 240, 3]);
  const probed = await probe(rotated);
  assert.is(probed.rotation, 270, 'display matrix of +90 degrees (counter-clockwise) = 270 clockwise');
  assert.equal([probed.displayWidth, probed.displayHeight], [240, 320]);
  // fvc converts to RGB, then rotates: exactly ffmpeg's conversion followed by the same transpose.
  const exact = ffmpegRgbFrames(rotated, 240, 320, `scale=iw:ih:flags=${SWS_FLAGS},transpose=cclock`, ['-noautorotate']);
  // ffmpeg's own autorotation (which rotates before converting) agrees up to chroma siting;
  // the wrong direction would differ by tens of levels.
  const auto = ffmpegRgbFrames(rotated, 240, 320);
  for (let i = 0; i < 4; i++) {
    const k = frameAt(times, r.targets[i] as number);
    const ours = frameSlice(r.data as Buffer, i, 240, 320);
    assert.ok(meanAbsDiff(ours, exact[k] as Buffer) < MAX_MAD, `frame ${i} equals convert+transpose`);
    assert.ok(meanAbsDiff(ours, auto[k] as Buffer) < 5, `frame ${i} close to ffmpeg autorotate`);
  }
});

test('odd frame size, full-range yuvj420p and 10-bit input match ffmpeg', async () => {
  const odd = makeVideo('odd_321x241.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '1', '-vf', 'scale=321:241', '-c:v', 'libx264', '-pix_fmt', 'yuv444p']);
  await checkAgainstFfmpeg(odd, 321, 241, 4);
  const yuvj = makeVideo('yuvj.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '1', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '3']);
  await checkAgainstFfmpeg(yuvj, 320, 240, 4);
  const tenBit = makeVideo('10bit.mkv', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '1', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p10le']);
  await checkAgainstFfmpeg(tenBit, 320, 240, 4);
});

test('variable frame rate: each frame reports its own timestamp', async () => {
  const vfr = makeVideo('vfr.mkv', [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x240:r=30',
    '-t',
    '3',
    '-vf',
    "select='not(between(n,20,40))*not(between(n,60,62))',setpts=N/30/TB",
    '-fps_mode',
    'passthrough',
    '-c:v',
    'libx264',
    '-g',
    '15',
    '-pix_fmt',
    'yuv420p',
  ]);
  // Re-time to real variable intervals: drop frames but keep their original pts.
  const vfrReal = makeVideo('vfr_real.mkv', [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x240:r=30',
    '-t',
    '3',
    '-vf',
    "select='not(between(n,20,40))*not(between(n,60,62))'",
    '-fps_mode',
    'vfr',
    '-c:v',
    'libx264',
    '-g',
    '15',
    '-pix_fmt',
    'yuv420p',
  ]);
  await checkAgainstFfmpeg(vfr, 320, 240, 6);
  await checkAgainstFfmpeg(vfrReal, 320, 240, 12);
});

test('more targets than frames repeat the on-screen frame', async () => {
  const path = makeVideo('tiny.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=5', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  const r = await sampleFrames(path, { count: 12, size: 32 });
  assert.is(r.timestamps.length, 12);
  assert.ok(new Set(r.timestamps).size <= 5);
  for (let i = 1; i < 12; i++) assert.ok((r.timestamps[i] as number) >= (r.timestamps[i - 1] as number));
});

test('AbortSignal cancels a running decode with ERR_ABORTED; timeoutMs gives ERR_TIMEOUT', async () => {
  const path = h264('gop250_30s.mp4', { gop: 250, seconds: 30, size: '640x480' });
  const ac = new AbortController();
  const p = sampleFrames(path, { count: 64, seek: false, threads: 1, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  try {
    await p;
    assert.unreachable('should abort');
  } catch (e) {
    assert.instance(e, FvcError);
    assert.is((e as FvcError).code, 'ERR_ABORTED');
  }
  try {
    await sampleFrames(path, { count: 64, seek: false, threads: 1, timeoutMs: 10 });
    assert.unreachable('should time out');
  } catch (e) {
    assert.is((e as FvcError).code, 'ERR_TIMEOUT');
  }
});

test('progress events reach the callback', async () => {
  const events: unknown[] = [];
  await sampleFrames(h264('gop12.mp4'), { count: 2, size: 32, onProgress: (e) => events.push(e) });
  assert.ok(events.length >= 1);
});

test.run();
