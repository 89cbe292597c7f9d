import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MANIPULATIONS, FvcError, generateCorpus, METADATA_COLUMNS, probe } from '../ts/index.js';
import { parseCsv } from '../ts/util/csv.js';
import { artifacts } from './helpers.js';

const dirA = join(artifacts, 'corpus-a');
const dirB = join(artifacts, 'corpus-b');
const dirC = join(artifacts, 'corpus-c');
const opts = { videos: 10, duration: 1, quiet: true } as const;

function digest(dir: string, paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) h.update(readFileSync(join(dir, p)));
  h.update(readFileSync(join(dir, 'metadata.csv')));
  return h.digest('hex');
}

test('same seed gives byte-identical clips and metadata; another seed does not', async () => {
  for (const d of [dirA, dirB, dirC]) rmSync(d, { recursive: true, force: true });
  const a = await generateCorpus({ ...opts, out: dirA, seed: 7 });
  const b = await generateCorpus({ ...opts, out: dirB, seed: 7 });
  const c = await generateCorpus({ ...opts, out: dirC, seed: 8 });
  const paths = a.clips.map((x) => x.video_path);
  assert.equal(
    b.clips.map((x) => x.video_path),
    paths,
    'the same seed names the same clips',
  );
  assert.is(digest(dirA, paths), digest(dirB, paths));
  assert.is.not(
    digest(dirA, paths),
    digest(
      dirC,
      c.clips.map((x) => x.video_path),
    ),
  );
});

test('metadata: labels, shared source_id, manipulations, real H.264 MP4 files', async () => {
  const r = await generateCorpus({ ...opts, out: dirA, seed: 7 });
  assert.is(r.generated, 0, 'a second run keeps finished clips');
  const rows = parseCsv(readFileSync(r.metadataPath, 'utf8'));
  assert.equal(Object.keys(rows[0] ?? {}), [...METADATA_COLUMNS]);
  assert.is(rows.length, 10);
  const reals = rows.filter((x) => x.label === '0');
  const fakes = rows.filter((x) => x.label === '1');
  assert.is(reals.length, 5);
  assert.is(fakes.length, 5);
  assert.ok(
    fakes.every((f) => reals.some((x) => x.source_id === f.source_id)),
    'every fake shares source_id with a real',
  );
  assert.equal(new Set(fakes.map((f) => f.manipulation)), new Set(DEFAULT_MANIPULATIONS), 'every default manipulation used');
  assert.ok(reals.every((x) => x.manipulation === 'none'));
  for (const row of rows) {
    const info = await probe(join(dirA, row.video_path as string));
    assert.is(info.codec, 'h264');
    assert.ok(info.container.includes('mp4'));
    assert.is(info.width, Number(row.width));
    assert.is(info.height, Number(row.height));
    assert.ok(Math.abs(info.duration - Number(row.duration)) < 0.1, `${row.video_path} duration`);
  }
});

test('a fake differs from its real only inside the manipulated region', async () => {
  const { sampleFrames } = await import('../ts/index.js');
  const rows = parseCsv(readFileSync(join(dirA, 'metadata.csv'), 'utf8'));
  const fake = rows.find((x) => x.manipulation === 'blend_patch');
  const real = rows.find((x) => x.label === '0' && x.source_id === fake?.source_id);
  assert.ok(fake && real);
  const a = await sampleFrames(join(dirA, real.video_path as string), { count: 1, size: 0, letterbox: false });
  const b = await sampleFrames(join(dirA, fake.video_path as string), { count: 1, size: 0, letterbox: false });
  const w = Number(real.width);
  const da = a.data as Buffer;
  const db = b.data as Buffer;
  let cornerDiff = 0;
  let total = 0;
  for (let i = 0; i < da.length; i++) {
    const d = Math.abs((da[i] as number) - (db[i] as number));
    total += d;
    const px = Math.floor(i / 3);
    if (px % w < 8 && Math.floor(px / w) < 8) cornerDiff += d;
  }
  assert.ok(total / da.length > 0.5, 'the manipulation changes the picture');
  assert.ok(cornerDiff / (8 * 8 * 3) < total / da.length, 'far from the face region, little changes');
});

test('every fake differs from its real, on every source kind (gradients once drew its patches transparent)', async () => {
  const dir = join(artifacts, 'corpus-pairs');
  rmSync(dir, { recursive: true, force: true });
  // Seed 3 made fake_0004 and fake_0010 (gradients, resample) byte-identical to their reals.
  const r = await generateCorpus({ out: dir, videos: 24, duration: 0.4, seed: 3, manipulations: ['flicker', 'warp', 'resample'], quiet: true });
  const fakes = r.clips.filter((c) => c.label === 1);
  assert.ok(fakes.some((f) => f.source === 'gradients'));
  for (const f of fakes) {
    const real = r.clips.find((c) => c.label === 0 && c.source_id === f.source_id) as (typeof r.clips)[number];
    assert.not.ok(readFileSync(join(dir, f.video_path)).equals(readFileSync(join(dir, real.video_path))), `${f.video_path} (${f.source}, ${f.manipulation}) is its real's bytes`);
  }
});

test('lag: a face-sized region shows its own clip 0.2-0.5 s earlier or later, and the rest of the frame is the real', async () => {
  const dir = join(artifacts, 'corpus-lag');
  rmSync(dir, { recursive: true, force: true });
  // testsrc2 and shapes move wherever the region falls, so the shift is measurable.
  const r = await generateCorpus({ out: dir, videos: 12, duration: 2, seed: 5, manipulations: ['lag'], quiet: true });
  const fakes = r.clips.filter((c) => c.label === 1 && (c.source === 'testsrc2' || c.source === 'cellauto'));
  assert.ok(fakes.length >= 1, `fakes of moving sources: ${r.clips.map((c) => c.source).join(', ')}`);
  for (const f of fakes) {
    const real = r.clips.find((c) => c.label === 0 && c.source_id === f.source_id) as (typeof r.clips)[number];
    const [w, h] = [f.width, f.height];
    const gray = (v: string) => {
      const raw = execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-i', join(dir, v), '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 28 });
      return Array.from({ length: raw.length / (w * h) }, (_, n) => raw.subarray(n * w * h, (n + 1) * w * h));
    };
    const a = gray(real.video_path);
    const b = gray(f.video_path);
    // Where the fake differs from the real in a quarter of the frames or more (coding noise
    // differs on sharp edges now and then): a box no larger than a face.
    const frames = Math.min(a.length, b.length);
    const changed = new Uint16Array(w * h);
    for (let n = 0; n < frames; n++) for (let i = 0; i < w * h; i++) if (Math.abs((a[n] as Buffer)[i]! - (b[n] as Buffer)[i]!) > 24) changed[i]!++;
    let [x0, y0, x1, y1] = [w, h, -1, -1];
    changed.forEach((c, i) => {
      if (c < frames / 4) return;
      const [x, y] = [i % w, Math.floor(i / w)];
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    });
    assert.ok(x1 > x0 && x1 - x0 < 0.5 * Math.min(w, h) + 4 && y1 - y0 < 0.6 * Math.min(w, h) + 4, `${f.video_path}: changed box ${x0},${y0}-${x1},${y1} of ${w}x${h}`);
    // Inside it, the fake's frame n is the real's frame n + k for one k of 0.2-0.5 s.
    const err = (k: number) => {
      let s = 0;
      let c = 0;
      for (let n = 15; n < b.length - 15; n++)
        for (let y = y0; y <= y1; y += 2)
          for (let x = x0; x <= x1; x += 2) {
            const m = n + k;
            if (m < 0 || m >= a.length) continue;
            s += Math.abs((b[n] as Buffer)[y * w + x]! - (a[m] as Buffer)[y * w + x]!);
            c++;
          }
      return s / c;
    };
    const shifts = Array.from({ length: 31 }, (_, i) => i - 15);
    const errors = shifts.map(err);
    const best = shifts[errors.indexOf(Math.min(...errors))] as number;
    const seconds = Math.abs(best) / f.fps;
    assert.ok(seconds >= 0.15 && seconds <= 0.55, `${f.video_path}: best shift ${best} frames = ${seconds.toFixed(2)} s`);
    assert.ok(Math.min(...errors) < errors[15]! / 3, `${f.video_path}: shifted ${Math.min(...errors).toFixed(2)} vs unshifted ${errors[15]?.toFixed(2)}`);
  }
});

test('strength scales the traces: the same clips, a fake further from its real at 4 than at 1', async () => {
  const { sampleFrames } = await import('../ts/index.js');
  const meanDiff = async (strength: number) => {
    const dir = join(artifacts, `corpus-strength-${strength}`);
    rmSync(dir, { recursive: true, force: true });
    const r = await generateCorpus({ out: dir, videos: 2, duration: 0.4, seed: 5, manipulations: ['flicker'], strength, quiet: true });
    const [real, fake] = await Promise.all(r.clips.map((c) => sampleFrames(join(dir, c.video_path), { count: 2, size: 0, letterbox: false })));
    const a = real?.data as Buffer;
    const b = fake?.data as Buffer;
    let total = 0;
    for (let i = 0; i < a.length; i++) total += Math.abs((a[i] as number) - (b[i] as number));
    return { diff: total / a.length, manifest: JSON.parse(readFileSync(join(dir, 'corpus.json'), 'utf8')) as { strength?: number }, clips: r.clips };
  };
  const one = await meanDiff(1);
  const four = await meanDiff(4);
  assert.equal(
    four.clips.map((c) => [c.video_path, c.width, c.height, c.fps]),
    one.clips.map((c) => [c.video_path, c.width, c.height, c.fps]),
  );
  assert.ok(four.diff > 2 * one.diff, `mean |fake - real| ${four.diff} at strength 4, ${one.diff} at 1`);
  assert.is(four.manifest.strength, 4);
  assert.is(one.manifest.strength, undefined, 'the default leaves the manifest as it was');
  try {
    await generateCorpus({ out: join(artifacts, 'corpus-strength-0'), videos: 2, strength: 0, quiet: true });
    assert.unreachable('strength 0 accepted');
  } catch (err) {
    assert.instance(err, FvcError);
    assert.match((err as Error).message, /strength/);
  }
});

test('changed options in an existing folder are refused unless forced', async () => {
  try {
    await generateCorpus({ ...opts, out: dirA, seed: 99 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, FvcError);
    assert.match((e as Error).message, /other options/);
  }
  try {
    await generateCorpus({ out: dirA, videos: 1 });
    assert.unreachable();
  } catch (e) {
    assert.is((e as FvcError).code, 'ERR_INVALID_ARGUMENT');
  }
});

test.run();
