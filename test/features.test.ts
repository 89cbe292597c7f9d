import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractHandcraftedFeatures, FvcError, handcraftedFeatureNames, handcraftedSchemaVersion, probe, sampleFrames } from '../ts/index.js';
import { artifacts, h264, makeVideo, root, runCli } from './helpers.js';

const encode = ['-c:v', 'libx264', '-g', '12', '-pix_fmt', 'yuv420p'];

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
  // The reference starts from the very frames fvc samples (each with its successor), decoded at native size.
  await sampleFrames(video, { count: numFrames, size: 0, letterbox: false, adjacent: true, npy, returnData: false, threads: 1 });
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
  for (const name of ['local_noise_cv_mean', 'local_blockiness_entropy_std', 'adjacent_diff_mean', 'local_adjacent_diff_top_share_mean', 'temporal_luma_std_max_ratio'])
    assert.ok(typeof r.features[name] === 'number', `${name} is computed (so the comparison covered it)`);
});

test('numpy agreement at another size, with partial cells at the edges and a 2-frame sample', async () => {
  const odd = makeVideo('odd_200x150.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=200x150:r=25', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  await compareWithNumpy(odd, 2);
});

test('one frame: temporal cues are explicit missing values, not zeros', async () => {
  const r = await compareWithNumpy(h264('gop12.mp4'), 1);
  assert.is(r.features.framediff_mean, null);
  assert.is(r.features.noise_temporal_var, null);
  assert.is(r.features.temporal_noise_cv_mean, null);
  // Adjacent-frame cues need only the sampled frame and its successor.
  assert.ok(typeof r.features.adjacent_diff_mean === 'number');
});

test('schema is fixed and every value is finite or null', async () => {
  const names = handcraftedFeatureNames();
  // Schema 1: 14 per-frame statistics x (mean, std) + 3 temporal + 5 codec; schema 2 adds
  // 5 local maps x 5 summaries x (mean, std) + adjacent-frame 1 + 3 summaries x (mean, std) + 2 x 3 over time;
  // schema 3: global motion + 2 motion maps x 4 statistics, each (mean, std), + 2 over time.
  assert.is(names.length, 36 + 50 + 8 + 6 + 18 + 2);
  assert.is(handcraftedSchemaVersion(), 3);
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

test('local features see what frame-wide means average away: a blurred face-sized patch, a flickering one', async () => {
  // A still, textured scene with sensor-like noise (testsrc2 itself moves everywhere).
  const still = makeVideo('still.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25,trim=end_frame=1,loop=loop=50:size=1,setpts=N/25/TB,noise=alls=8:allf=t', '-t', '2', ...encode]);
  // 80x96 of 320x240: a third of the width, as the corpus's faces.
  const patch = makeVideo('still_patch_blur.mp4', ['-i', still, '-filter_complex', '[0]split[a][b];[b]crop=80:96:120:72,gblur=sigma=2[p];[a][p]overlay=120:72', ...encode]);
  const flicker = makeVideo('still_patch_flicker.mp4', [
    '-i',
    still,
    '-filter_complex',
    "[0]split[a][b];[b]crop=80:96:120:72,eq=brightness=0.08[p];[a][p]overlay=120:72:enable='lt(mod(n,2),1)'",
    ...encode,
  ]);
  type Values = { [name: string]: number };
  const [a, b, c] = (await Promise.all([still, patch, flicker].map((v) => extractHandcraftedFeatures(v)))).map((r) => r.features) as unknown as [Values, Values, Values];
  const v = (x: Values, name: string) => x[name] as number;
  const change = (x: Values, name: string) => Math.abs((x[name] as number) - (a[name] as number)) / Math.abs(a[name] as number);
  // The blurred patch leaves cells with far less residual noise than the frame's median.
  assert.ok(v(b, 'local_noise_min_ratio_mean') < v(a, 'local_noise_min_ratio_mean') - 1, `min ratio ${v(a, 'local_noise_min_ratio_mean')} -> ${v(b, 'local_noise_min_ratio_mean')}`);
  assert.ok(change(b, 'local_noise_min_ratio_mean') > 3 * change(b, 'noise_energy_mean'), 'the local cue moves more than the frame-wide one');
  // The flickering patch changes between adjacent frames while the rest barely moves.
  assert.ok(
    v(c, 'local_adjacent_diff_top_share_mean') > 2 * v(a, 'local_adjacent_diff_top_share_mean'),
    `top share ${v(a, 'local_adjacent_diff_top_share_mean')} -> ${v(c, 'local_adjacent_diff_top_share_mean')}`,
  );
  assert.ok(v(c, 'temporal_luma_std_max_ratio') > 2 * v(a, 'temporal_luma_std_max_ratio'), `luma std max ratio ${v(a, 'temporal_luma_std_max_ratio')} -> ${v(c, 'temporal_luma_std_max_ratio')}`);
});

test('motion features see a region out of step that the local cues of schema 2 do not: the same clip 0.4 s late in a face-sized patch', async () => {
  // A still random texture (every cell has something to track) panned ever faster, so the
  // patch showing it 0.4 s late moves about a pixel per frame slower than its surroundings.
  const texture = join(artifacts, 'motion-texture.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', "nullsrc=s=640x480,geq=lum='random(1)*255':cb=128:cr=128,gblur=sigma=1.5", '-frames:v', '1', texture]);
  const pan = "crop=320:240:x='30*t*t':y='20*t'";
  const input = ['-loop', '1', '-r', '24', '-i', texture, '-t', '3'];
  const real = makeVideo('texture_pan.mp4', [...input, '-vf', pan, ...encode]);
  const late = makeVideo('texture_pan_lag.mp4', [
    ...input,
    '-filter_complex',
    `[0]${pan},split[base][face];[face]setpts=PTS+0.4/TB,crop=110:130:100:50[patch];[base][patch]overlay=100:50:eof_action=pass`,
    ...encode,
  ]);
  type Values = { [name: string]: number };
  const [a, b] = (await Promise.all([real, late].map((v) => extractHandcraftedFeatures(v)))).map((r) => r.features) as unknown as [Values, Values];
  const ratio = (name: string) => (b[name] as number) / (a[name] as number);
  for (const name of ['motion_cell_dev_mean_mean', 'motion_neighbour_dev_mean_mean']) assert.ok(ratio(name) > 5, `${name} x${ratio(name).toFixed(2)}`);
  assert.ok(Math.abs(ratio('motion_global_mag_mean') - 1) < 0.1, 'the global motion is the pan in both');
  for (const name of ['adjacent_diff_mean', 'local_adjacent_diff_top_share_mean', 'local_adjacent_diff_max_ratio_mean', 'temporal_luma_std_top_share', 'local_sobel_max_ratio_mean'])
    assert.ok(Math.abs(ratio(name) - 1) < 0.15, `${name} x${ratio(name).toFixed(3)}: schema 2 barely moves`);
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
