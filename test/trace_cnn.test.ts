/**
 * trace_cnn, the demo's deep model (issue 32 item 4): its logits against an independent
 * PyTorch implementation given the same weights (the SRM kernels, the clip-relative and
 * pair branches are not in the file, so only the same computation gives the same
 * logits), and the clips it reads: frames at their own size in truly adjacent pairs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameCache } from '../ts/cache/frame-cache.js';
import { modelLogits } from '../ts/deep/architectures.js';
import { cacheSampling } from '../ts/train/clips.js';
import { artifacts, makeVideo, npyValues, root, runCli } from './helpers.js';

const dir = join(artifacts, 'trace-cnn');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'trace_cnn_reference.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
});

test("trace_cnn's residual, clip-relative and adjacent-pair branches give the reference's logits (within 1e-4)", async () => {
  const r = await modelLogits({ model: 'trace_cnn', input: join(dir, 'clip.npy'), weights: join(dir, 'trace_cnn.pth'), threads: 2 });
  const want = npyValues(join(dir, 'trace_cnn_logits.npy'));
  assert.is(r.rows.flat().length, want.length);
  const d = r.rows.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - (want[i] as number))), 0);
  assert.ok(d < 1e-4, `max |fvc - reference| = ${d}`);
});

test('trace_cnn refuses clips that are not adjacent pairs, naming the frame count', async () => {
  const odd = join(dir, 'odd.npy');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((1, 3, 3, 64, 64), np.float32))', odd]);
  try {
    await modelLogits({ model: 'trace_cnn', input: odd, threads: 2 });
    assert.unreachable('an odd frame count was accepted');
  } catch (e) {
    assert.match((e as Error).message, /adjacent pairs, got 3 frames/);
  }
});

test('rgb+pairs clips are cached at the video’s own size as (sample, next frame) pairs; an odd count is refused once, naming the option', async () => {
  // 25 fps, 2 s, 200x120: nothing in the cache may scale or letterbox it.
  const video = makeVideo('pairs-200x120.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=200x120:rate=25:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  const cache = new FrameCache(join(dir, 'cache'));
  const e = await cache.get(video, cacheSampling('rgb+pairs', 8, 256));
  assert.equal(e.shape, [8, 120, 200, 3]);
  for (let i = 0; i < 8; i += 2) assert.ok(Math.abs((e.timestamps[i + 1] as number) - (e.timestamps[i] as number) - 0.04) < 1e-6, `pair ${i / 2}: ${e.timestamps[i]} -> ${e.timestamps[i + 1]}`);
  // The pairs are spread over the clip, and square models' entries are not shared with them.
  assert.ok((e.timestamps[6] as number) - (e.timestamps[0] as number) > 1);
  const square = await cache.get(video, cacheSampling('rgb', 8, 256));
  assert.is.not(square.key, e.key);
  assert.equal(square.shape, [8, 256, 256, 3]);
  try {
    await cache.get(video, cacheSampling('rgb+pairs', 7, 256));
    assert.unreachable('7 frames were split into pairs');
  } catch (err) {
    assert.match((err as Error).message, /numFrames: 7 cannot be split into adjacent pairs/);
  }
  // Training refuses an odd count once, naming the option, not as every video failing to decode.
  const table = join(dir, 'videos.csv');
  writeFileSync(table, `video_path,label\n${video},0\n${video},1\n`);
  const r = runCli(['train', '--models', 'trace_cnn', '--videos', table, '--num-frames', '5', '--output-dir', join(dir, 'stage5'), '--frame-cache-dir', join(dir, 'cache'), '--no-tracking']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /numFrames: 5 cannot be split into adjacent pairs/);
  assert.not.match(r.stderr, /cannot be decoded/);
});

test.run();
