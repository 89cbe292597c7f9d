import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, probe, readTable, runFeatureStage, runScaleStage, sampleFrames } from '../ts/index.js';
import { artifacts, ffprobeFrameTimes, frameSlice, psnr } from './helpers.js';

const corpusDir = join(artifacts, 'stage-corpus');
const metadata = join(corpusDir, 'metadata.csv');
const out = join(artifacts, 'stage3');

test.before(async () => {
  await generateCorpus({ out: corpusDir, videos: 8, duration: 1, seed: 11, quiet: true });
  rmSync(out, { recursive: true, force: true });
});

test('stage3 letterboxes every frame to 256x256, keeping every timestamp', async () => {
  const r = await runScaleStage({ metadata, out, crf: 12, quiet: true });
  assert.is(r.rows, 8);
  const rows = await readTable(r.outputPath);
  for (const row of rows) {
    const scaled = join(out, row.video_path as string);
    const original = join(out, row.original_video_path as string);
    assert.equal(ffprobeFrameTimes(scaled), ffprobeFrameTimes(original), `${row.video_path}: same frames at the same times`);
    const [ps, po] = [await probe(scaled), await probe(original)];
    assert.ok(Math.abs(ps.duration - po.duration) < 1e-3, `duration kept: ${ps.duration} vs ${po.duration}`);
    const a = await sampleFrames(original, { count: 3, size: 256 });
    const b = await sampleFrames(scaled, { count: 3, size: 256 });
    assert.equal(b.shape, [3, 256, 256, 3]);
    assert.equal(b.timestamps, a.timestamps, 'uniform sampling picks the same instants in both');
    // The second 4:2:0 round trip costs chroma detail on sharp synthetic edges
    // (testsrc2 text); a wrong or shifted frame scores far lower.
    for (let i = 0; i < 3; i++) {
      const p = psnr(frameSlice(a.data as Buffer, i, 256, 256), frameSlice(b.data as Buffer, i, 256, 256));
      assert.ok(p > 26, `${row.video_path} frame ${i}: PSNR ${p.toFixed(1)} after re-encoding at crf 12`);
    }
  }
});

test('stage3 resumes, redoes a video whose output vanished, and feeds stage4', async () => {
  const again = await runScaleStage({ metadata, out, crf: 12, quiet: true });
  assert.is(again.skipped, 8);
  const rows = await readTable(again.outputPath);
  rmSync(join(out, rows[0]?.video_path as string));
  const redo = await runScaleStage({ metadata, out, crf: 12, quiet: true });
  assert.is(redo.computed, 1);
  const s4 = await runFeatureStage({ stage: 'stage4', metadata: redo.outputPath, out: join(artifacts, 'stage4'), numFrames: 2, quiet: true });
  assert.is(s4.rows, 8);
  const feats = await readTable(s4.outputPath);
  assert.ok(feats.every((f) => f.codec_width === 256 && f.codec_height === 256));
});

test.run();
