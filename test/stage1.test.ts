import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { augmentVideo, drawAugmentation, generateCorpus, probe, readTable, runAugmentStage, runFeatureStage, TRANSFORMS } from '../ts/index.js';
import { artifacts, ffmpegRgbFrames, ffprobeFrameTimes, h264, psnr } from './helpers.js';

const src = h264('aug_src.mp4', { seconds: 1, fps: 30, gop: 10 });
const W = 320;
const H = 240;
const tmp = join(artifacts, 'augment');
const corpusDir = join(artifacts, 'stage-corpus');
const metadata = join(corpusDir, 'metadata.csv');
const md5 = (p: string) => createHash('md5').update(readFileSync(p)).digest('hex');

test.before(async () => {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await generateCorpus({ out: corpusDir, videos: 8, duration: 1, seed: 11, quiet: true });
});

/** Worst per-frame PSNR of `out` against `expected(source frame i)`. */
function worstPsnr(out: string, expected: (frame: Buffer, i: number) => Buffer, pick: (i: number) => number = (i) => i): number {
  const a = ffmpegRgbFrames(src, W, H);
  const b = ffmpegRgbFrames(out, W, H);
  let worst = Infinity;
  b.forEach((f, i) => (worst = Math.min(worst, psnr(f, expected(a[pick(i)] as Buffer, i)))));
  return worst;
}

function mirrored(f: Buffer): Buffer {
  const o = Buffer.alloc(f.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) o[(y * W + x) * 3 + c] = f[(y * W + (W - 1 - x)) * 3 + c] as number;
  return o;
}

test('hflip and brightness match the same operation done on the decoded source', async () => {
  // crf 0 leaves only the RGB->YUV 4:2:0 round trip between the two.
  const flip = join(tmp, 'flip.mp4');
  await augmentVideo(src, flip, { hflip: true, crf: 0 });
  const pf = worstPsnr(flip, mirrored);
  assert.ok(pf > 30, `hflip PSNR ${pf.toFixed(1)}`);
  const wrong = worstPsnr(flip, (f) => f);
  assert.ok(wrong < pf - 10, `an unflipped reference scores far lower (${wrong.toFixed(1)})`);

  const bright = join(tmp, 'bright.mp4');
  await augmentVideo(src, bright, { brightness: 1.25, crf: 0 });
  const pb = worstPsnr(bright, (f) => Buffer.from(f.map((v) => Math.min(255, Math.round(v * 1.25)))));
  // Colours pushed to saturation lose a little more in the 4:2:0 round trip.
  assert.ok(pb > 27, `brightness PSNR ${pb.toFixed(1)}`);
  const unbrightened = worstPsnr(bright, (f) => f);
  assert.ok(unbrightened < pb - 3, `the untouched source scores lower (${unbrightened.toFixed(1)})`);
});

test('crop-and-resize matches ffmpeg crop+scale of the same window', async () => {
  const out = join(tmp, 'crop.mp4');
  // cropX/cropY place the window within the free range: 0,0 is the top-left corner.
  await augmentVideo(src, out, { cropScale: 0.5, cropX: 0, cropY: 0, crf: 0 });
  const ref = ffmpegRgbFrames(src, W, H, `crop=${W / 2}:${H / 2}:0:0,scale=${W}:${H}:flags=bilinear+accurate_rnd+full_chroma_int`);
  const got = ffmpegRgbFrames(out, W, H);
  assert.is(got.length, ref.length);
  const worst = Math.min(...got.map((f, i) => psnr(f, ref[i] as Buffer)));
  assert.ok(worst > 27, `crop PSNR ${worst.toFixed(1)} against ffmpeg`);
});

test('frame-rate change keeps every other frame at the new rate; frame dropping leaves gaps', async () => {
  const half = join(tmp, 'half.mp4');
  const r = await augmentVideo(src, half, { fpsScale: 0.5, crf: 0 });
  assert.is(r.sourceFrames, 30);
  assert.is(r.frames, 15);
  const times = ffprobeFrameTimes(half);
  assert.equal(
    times.map((t) => Math.round(t * 15)),
    [...Array(15).keys()],
  );
  const p = worstPsnr(
    half,
    (f) => f,
    (i) => 2 * i,
  );
  assert.ok(p > 30, `tick k shows source frame 2k (PSNR ${p.toFixed(1)})`);

  const dropped = join(tmp, 'drop.mp4');
  const d = await augmentVideo(src, dropped, { dropProb: 0.3, seed: 5, crf: 0 });
  assert.ok(d.frames < 30 && d.frames > 10, `${d.frames} frames kept`);
  const kept = ffprobeFrameTimes(dropped).map((t) => Math.round(t * 30));
  assert.is(kept[0], 0, 'the first frame is never dropped');
  assert.ok(
    kept.every((k, i) => i === 0 || k > (kept[i - 1] as number)),
    'kept frames keep their source times',
  );
  assert.is(kept.length, d.frames);
});

test('blur, noise, rotation and colour jitter change the picture; the same seed gives the same bytes', async () => {
  const base = join(tmp, 'base.mp4');
  await augmentVideo(src, base, { crf: 0 });
  const orig = ffmpegRgbFrames(base, W, H)[5] as Buffer;
  for (const params of [{ blurSigma: 1.2 }, { noiseSigma: 6 }, { rotateDeg: 8 }, { saturation: 0.5, hue: 0.1 }]) {
    const out = join(tmp, `p_${Object.keys(params).join('_')}.mp4`);
    const r = await augmentVideo(src, out, { ...params, seed: 9, crf: 0 });
    assert.equal([r.width, r.height, r.frames], [W, H, 30]);
    const p = psnr(ffmpegRgbFrames(out, W, H)[5] as Buffer, orig);
    assert.ok(p < 40 && p > 8, `${JSON.stringify(params)}: PSNR ${p.toFixed(1)} against the untouched frame`);
  }
  const a = join(tmp, 'n1.mp4');
  const b = join(tmp, 'n2.mp4');
  const c = join(tmp, 'n3.mp4');
  await augmentVideo(src, a, { noiseSigma: 5, dropProb: 0.2, seed: 1 });
  await augmentVideo(src, b, { noiseSigma: 5, dropProb: 0.2, seed: 1 });
  await augmentVideo(src, c, { noiseSigma: 5, dropProb: 0.2, seed: 2 });
  assert.is(md5(a), md5(b));
  assert.is.not(md5(a), md5(c));
});

test('drawn policies: only allowed transforms, at least one, reproducible', () => {
  for (let s = 0; s < 50; s++) {
    const d = drawAugmentation({ transforms: ['blur', 'fps'], probability: 0.3 }, s);
    const names = d.name.split('+');
    assert.ok(names.length >= 1 && names.every((n) => n === 'blur' || n === 'fps'), d.name);
    assert.equal(drawAugmentation({ transforms: ['blur', 'fps'], probability: 0.3 }, s), d);
  }
  const all = new Set<string>();
  for (let s = 0; s < 200; s++)
    drawAugmentation({}, s)
      .name.split('+')
      .forEach((n) => all.add(n));
  assert.equal([...all].sort(), [...TRANSFORMS].sort(), 'every transform is drawn sometimes');
});

test('stage1 writes copies with their source_id, reproducibly, resumes, and feeds stage2', async () => {
  const out1 = join(tmp, 'stage1-a');
  const out2 = join(tmp, 'stage1-b');
  const r = await runAugmentStage({ metadata, out: out1, copies: 2, seed: 7, quiet: true });
  assert.is(r.rows, 24);
  const rows = await readTable(r.outputPath);
  const originals = rows.filter((x) => x.augmentation === 'original');
  assert.is(originals.length, 8);
  for (const o of originals) {
    const copies = rows.filter((x) => x.original_video_path === o.original_video_path && x.augmentation !== 'original');
    assert.is(copies.length, 2);
    for (const c of copies) {
      assert.is(c.source_id, o.source_id, 'copies share the source_id, so they share a fold');
      assert.is(c.label, o.label);
      assert.ok((await probe(join(out1, c.video_path as string))).frameCount > 0);
    }
  }
  const again = await runAugmentStage({ metadata, out: out2, copies: 2, seed: 7, quiet: true });
  const rows2 = await readTable(again.outputPath);
  const copies1 = rows.filter((x) => x.augmentation_index !== 0);
  const copies2 = rows2.filter((x) => x.augmentation_index !== 0);
  assert.equal(
    copies2.map((x) => x.augmentation_params),
    copies1.map((x) => x.augmentation_params),
  );
  assert.equal(
    copies2.map((x) => md5(join(out2, x.video_path as string))),
    copies1.map((x) => md5(join(out1, x.video_path as string))),
    'same seed, same bytes',
  );

  const other = await runAugmentStage({ metadata, out: join(tmp, 'stage1-c'), copies: 2, seed: 8, quiet: true });
  const rows3 = await readTable(other.outputPath);
  assert.not.equal(
    rows3.map((x) => x.augmentation_params),
    rows.map((x) => x.augmentation_params),
  );

  const resumed = await runAugmentStage({ metadata, out: out1, copies: 2, seed: 7, quiet: true });
  assert.equal([resumed.skipped, resumed.computed, resumed.rows], [8, 0, 24]);
  const changed = await runAugmentStage({ metadata, out: out1, copies: 3, seed: 7, quiet: true });
  assert.equal([changed.computed, changed.rows], [8, 32], 'a different copy count redoes the work');

  const s2 = await runFeatureStage({ stage: 'stage2', metadata: changed.outputPath, out: join(tmp, 'stage2'), numFrames: 2, quiet: true });
  assert.equal([s2.rows, s2.failed], [32, 0]);
});

test.run();
