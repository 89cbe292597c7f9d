import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractHandcraftedFeatures, FvcError, handcraftedFeatureNames, probe, sampleFrames } from '../ts/index.js';
import { artifacts, h264, makeVideo, root, runCli } from './helpers.js';

// float32 image arithmetic in fvc against float64 numpy: agree to 1e-4 relative
// (absolute 1e-3 for values near zero, such as the residual mean).
function close(name: string, ours: number | null, ref: number | null) {
  if (ref === null) return assert.is(ours, null, `${name} is missing in both`);
  assert.ok(ours !== null, `${name} present`);
  const tol = Math.max(1e-3, 1e-4 * Math.abs(ref));
  assert.ok(Math.abs((ours as number) - ref) <= tol, `${name}: fvc ${ours} vs numpy ${ref}`);
}

async function compareWithNumpy(video: string, numFrames: number) {
  const npy = join(artifacts, `features-${numFrames}.npy`);
  // The reference starts from the very frames fvc samples, decoded at native size.
  await sampleFrames(video, { count: numFrames, size: 0, letterbox: false, npy, returnData: false, threads: 1 });
  const info = await probe(video);
  const rate = info.streamBitrate || info.bitrate;
  const ref = JSON.parse(
    execFileSync('/usr/bin/python3', [join(root, 'test/features_reference.py'), npy, String(rate), String(info.avgFps), String(info.width), String(info.height)]).toString(),
  ) as Record<string, number | null>;
  const ours = await extractHandcraftedFeatures(video, { numFrames });
  assert.equal(Object.keys(ours.features), Object.keys(ref), 'same names in the same order');
  for (const name of Object.keys(ref)) close(name, ours.features[name] ?? null, ref[name] ?? null);
  return ours;
}

test('Stage 2 features equal an independent numpy computation on the same frames', async () => {
  const r = await compareWithNumpy(h264('gop12.mp4'), 8);
  assert.is(r.frames, 8);
});

test('one frame: temporal cues are explicit missing values, not zeros', async () => {
  const r = await compareWithNumpy(h264('gop12.mp4'), 1);
  assert.is(r.features.framediff_mean, null);
  assert.is(r.features.noise_temporal_var, null);
});

test('schema is fixed and every value is finite or null', async () => {
  const names = handcraftedFeatureNames();
  assert.is(names.length, 36); // 14 per-frame statistics x (mean, std) + 3 temporal + 5 codec
  assert.is(new Set(names).size, names.length);
  const r = await extractHandcraftedFeatures(
    makeVideo('odd_321x241.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25', '-t', '1', '-vf', 'scale=321:241', '-c:v', 'libx264', '-pix_fmt', 'yuv444p']),
  );
  assert.equal(Object.keys(r.features), names);
  for (const v of r.values) assert.ok(v === null || Number.isFinite(v));
});

test('features separate a manipulated clip from its source', async () => {
  const clean = h264('gop12.mp4');
  const blurred = makeVideo('gop12_blurred.mp4', ['-i', clean, '-vf', 'gblur=sigma=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  const a = await extractHandcraftedFeatures(clean);
  const b = await extractHandcraftedFeatures(blurred);
  assert.ok((b.features.laplacian_var_mean as number) < (a.features.laplacian_var_mean as number) / 2, 'blur lowers Laplacian variance');
  assert.ok((b.features.noise_energy_mean as number) < (a.features.noise_energy_mean as number), 'blur lowers residual energy');
});

test('fvc features --json and errors', async () => {
  const r = runCli(['features', h264('gop12.mp4'), '--json', '-n', '4']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.frames, 4);
  assert.equal(Object.keys(j.features), handcraftedFeatureNames());
  const env = runCli(['features', h264('gop12.mp4'), '--json'], { FVC_NUM_FRAMES: '3' });
  assert.is(JSON.parse(env.stdout).frames, 3, 'FVC_NUM_FRAMES is honoured');
  try {
    await extractHandcraftedFeatures(join(artifacts, 'nope.mp4'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, FvcError);
    assert.is((e as FvcError).code, 'ERR_FILE_NOT_FOUND');
  }
});

test.run();
