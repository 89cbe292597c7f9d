import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildFrameCache, FrameCache, generateCorpus, sampleFrames } from '../ts/index.js';
import { artifacts, runCli } from './helpers.js';

const corpusDir = join(artifacts, 'stage-corpus');
const metadata = join(corpusDir, 'metadata.csv');
const dir = join(artifacts, 'frame-cache');
const scratch = join(artifacts, 'frame-cache-src');
const video = (name: string) => join(corpusDir, 'videos', name);

test.before(async () => {
  await generateCorpus({ out: corpusDir, videos: 8, duration: 1, seed: 11, quiet: true });
  rmSync(dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
});

test('a table is decoded once; every later pass (folds x models) only reads', async () => {
  const first = await buildFrameCache({ metadata, dir, numFrames: 4, size: 64, quiet: true });
  assert.equal([first.decoded, first.hits, first.failures.length], [8, 0, 0]);
  for (let pass = 0; pass < 3; pass++) {
    const again = await buildFrameCache({ metadata, dir, numFrames: 4, size: 64, quiet: true });
    assert.equal([again.decoded, again.hits], [0, 8]);
  }
  const cache = new FrameCache(dir);
  const e = await cache.get(video('real_0000.mp4'), { numFrames: 4, size: 64 });
  assert.ok(e.hit);
  assert.equal(e.shape, [4, 64, 64, 3]);
  const direct = await sampleFrames(video('real_0000.mp4'), { count: 4, size: 64 });
  assert.ok((await cache.read(e)).equals(direct.data as Buffer), 'cached frames are the decoded frames');
  assert.equal(e.timestamps, direct.timestamps);
  const other = await cache.get(video('real_0000.mp4'), { numFrames: 2, size: 64 });
  assert.ok(!other.hit && other.key !== e.key, 'other sampling parameters are another entry');
  // Each parameter alone makes another entry, with what it asks for: a 32 px request is
  // never answered with the 64 px frames cached under the same frame count.
  const keys = new Set([e.key, other.key]);
  for (const [what, sampling, shape] of [
    ['size', { numFrames: 4, size: 32 }, [4, 32, 32, 3]],
    ['letterbox', { numFrames: 4, size: 64, letterbox: false }, null],
    ['interpolation', { numFrames: 4, size: 64, interpolation: 'nearest' }, [4, 64, 64, 3]],
  ] as const) {
    const x = await cache.get(video('real_0000.mp4'), sampling);
    assert.not.ok(x.hit, `${what}: a miss`);
    assert.not.ok(keys.has(x.key), `${what}: a key of its own`);
    keys.add(x.key);
    if (shape) assert.equal(x.shape, shape, what);
    const direct = await sampleFrames(video('real_0000.mp4'), {
      count: 4,
      size: sampling.size,
      ...('letterbox' in sampling ? { letterbox: sampling.letterbox } : {}),
      ...('interpolation' in sampling ? { interpolation: sampling.interpolation } : {}),
    });
    assert.ok((await cache.read(x)).equals(direct.data as Buffer), `${what}: the frames asked for`);
  }
});

test('entries memory-map in numpy with the right shape and pixels', async () => {
  const cache = new FrameCache(dir);
  const e = await cache.get(video('fake_0000.mp4'), { numFrames: 4, size: 64 });
  const data = await cache.read(e);
  const sum = data.reduce((a, v) => a + v, 0);
  const out = execFileSync('/usr/bin/python3', [
    '-c',
    ['import sys, numpy as np', 'a = np.load(sys.argv[1], mmap_mode="r")', 'print(type(a).__name__, a.dtype, list(a.shape), int(a.astype(np.int64).sum()))'].join('\n'),
    e.npyPath,
  ])
    .toString()
    .trim();
  assert.is(out, `memmap uint8 [4, 64, 64, 3] ${sum}`);
});

test('keys follow content: a copy hits, a changed file misses and its old entry is stale', async () => {
  const cache = new FrameCache(dir);
  const copy = join(scratch, 'renamed.mp4');
  copyFileSync(video('real_0001.mp4'), copy);
  assert.ok((await cache.get(copy, { numFrames: 4, size: 64 })).hit, 'same bytes under another name');

  const changing = join(scratch, 'changing.mp4');
  copyFileSync(video('real_0002.mp4'), changing);
  const before = await cache.get(changing, { numFrames: 3, size: 32 });
  assert.ok(!before.hit);
  copyFileSync(video('fake_0002.mp4'), changing);
  utimesSync(changing, new Date(), new Date(Date.now() + 5000)); // a new mtime, as an edit gives
  const after = await cache.get(changing, { numFrames: 3, size: 32 });
  assert.ok(!after.hit && after.key !== before.key, 'new content, new entry');
  const stale = await cache.stale();
  assert.ok(
    stale.some((s) => s.key === before.key && s.reason === 'changed'),
    JSON.stringify(stale),
  );
  rmSync(copy);
  const cli = runCli(['cache', 'status', '--dir', dir]);
  assert.match(cli.stdout, /stale \(changed\): .*changing\.mp4/);
  const removed = await cache.prune();
  assert.ok(removed.some((s) => s.key === before.key));
  assert.ok(!(await cache.stale()).length);
  assert.ok((await cache.get(changing, { numFrames: 3, size: 32 })).hit, 'the current entry survives pruning');
});

test('fvc cache build reports decodes and hits', () => {
  const d = join(artifacts, 'frame-cache-cli');
  rmSync(d, { recursive: true, force: true });
  const a = runCli(['cache', 'build', '--metadata', metadata, '--dir', d, '-n', '2', '--size', '32']);
  assert.is(a.code, 0, a.stderr);
  assert.match(a.stdout, /8 decoded, 0 already cached, 0 failed/);
  const b = runCli(['cache', 'build', '--metadata', metadata, '--dir', d, '-n', '2', '--size', '32']);
  assert.match(b.stdout, /0 decoded, 8 already cached/);
});

test.run();
