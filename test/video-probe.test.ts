import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probe } from '../ts/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffprobeJson, h264, makeVideo, videoDir } from './helpers.js';

const ratio = (r: string) => {
  const [a, b] = r.split('/').map(Number);
  return b ? (a as number) / b : 0;
};

for (const [name, make] of [
  ['gop12.mp4', () => h264('gop12.mp4')],
  ['gop25_10s.mp4', () => h264('gop25_10s.mp4', { gop: 25, seconds: 10 })],
  ['10bit.mkv', () => makeVideo('10bit.mkv', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '1', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p10le'])],
  [
    'with_audio.mp4',
    () =>
      makeVideo('with_audio.mp4', [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=160x120:r=30',
        '-f',
        'lavfi',
        '-i',
        'sine=duration=2',
        '-t',
        '2',
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        '-shortest',
      ]),
  ],
] as const) {
  test(`probe fields agree with ffprobe: ${name}`, async () => {
    const path = make();
    const ref = ffprobeJson(path, ['-show_format', '-show_streams', '-select_streams', 'v:0', '-count_packets']);
    const s = ref.streams[0];
    const info = await probe(path, { exact: true });
    assert.is(info.codec, s.codec_name);
    assert.is(info.width, s.width);
    assert.is(info.height, s.height);
    assert.is(info.pixelFormat, s.pix_fmt);
    assert.ok(Math.abs(info.avgFps - ratio(s.avg_frame_rate)) < 1e-9, 'avg fps');
    assert.ok(Math.abs(info.realFps - ratio(s.r_frame_rate)) < 1e-9, 'real fps');
    const refDuration = Number(s.duration ?? ref.format.duration);
    assert.ok(Math.abs(info.duration - refDuration) < 0.05, `duration ${info.duration} vs ${refDuration}`);
    assert.is(info.frameCount, Number(s.nb_read_packets), 'exact frame count');
    assert.is(info.bitrate, Number(ref.format.bit_rate));
    assert.ok(info.container.includes(ref.format.format_name.split(',')[0]));
    assert.is(info.hasAudio, name === 'with_audio.mp4');

    const pk = ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags']);
    const keys = pk.packets
      .filter((p: { flags: string }) => p.flags.startsWith('K'))
      .map((p: { pts_time: string }) => Number(p.pts_time))
      .sort((a: number, b: number) => a - b);
    assert.is(info.keyframes.length, keys.length, 'keyframe count');
    info.keyframes.forEach((t, i) => assert.ok(Math.abs(t - (keys[i] as number)) < 1e-6, `keyframe ${i} at ${t} vs ${keys[i]}`));
  });
}

test('quick probe (no --exact) reads the header count and the container index', async () => {
  const info = await probe(h264('gop25_10s.mp4', { gop: 25, seconds: 10 }));
  assert.is(info.frameCountExact, false);
  assert.is(info.frameCount, 250);
  assert.is(info.keyframeSource, 'index');
  assert.is(info.keyframes.length, 10);
});

test('a file whose header declares no frames or duration (an AVI with its first 4 KiB zeroed, a raw H.264 stream) is counted, not reported as 0 frames', async () => {
  const avi = makeVideo('probe_header.avi', ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25', '-t', '4', '-c:v', 'mpeg4']);
  const bytes = readFileSync(avi);
  bytes.fill(0, 0, 4096);
  const zeroed = join(videoDir, 'probe_header_zeroed.avi');
  writeFileSync(zeroed, bytes);
  const raw = makeVideo('probe_raw.h264', ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25', '-t', '2', '-c:v', 'libx264', '-f', 'h264']);
  for (const [file, frames] of [
    [zeroed, 100],
    [raw, 50],
  ] as const) {
    const p = await probe(file);
    assert.ok(p.frameCount >= frames - 1 && p.frameCount <= frames, `${file}: ${p.frameCount} frames`);
    assert.ok(p.frameCountExact, 'counted by a packet scan');
    assert.ok(Math.abs(p.duration - frames / 25) < 0.1, `${file}: ${p.duration} s`);
  }
});

test.run();
