/**
 * The native deep video models: published sizes by parameter count, and logits
 * against torchvision itself (Debian's python3-torchvision, same LibTorch 1.13) for
 * weights exported to .safetensors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { stage5IdOf } from '../ts/train/registry.js';
import * as assert from 'uvu/assert';
import { describeDeepModels, modelLogits } from '../ts/deep/architectures.js';
import { artifacts, root, runCli } from './helpers.js';
import type { KernelCheck } from '../ts/runtime.js';

const dir = join(artifacts, 'deep-models');
const TORCHVISION = ['r3d_18', 'mc3_18', 'r2plus1d_18'];

/** A float32 .npy read back with numpy. */
function npyRows(path: string): number[][] {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).tolist()))', path]).toString());
}

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'torchvision_export.py'), dir, '5', ...TORCHVISION], { stdio: ['ignore', 'ignore', 'inherit'] });
});

test("published architectures have torchvision's parameter counts at 400 classes", async () => {
  const d = await describeDeepModels({ numClasses: 400, models: TORCHVISION, threads: 2 });
  assert.equal(Object.fromEntries(d.map((m) => [m.name, m.parameters])), { r3d_18: 33_371_472, mc3_18: 11_695_440, r2plus1d_18: 31_505_325 });
  assert.equal(d.find((m) => m.name === 'r2plus1d_18')?.inputShape, [3, 16, 112, 112]);
  assert.is(stage5IdOf('r2plus1d_18'), '5p');
});

// PyTorchVideo's model zoo quotes these in millions, to two decimals.
test('PyTorchVideo architectures have its published parameter counts at 400 classes; one forward pass at full size', async () => {
  const published = { i3d_r50: '28.04', x3d_xs: '3.79', x3d_s: '3.79', x3d_m: '3.79', slowfast_r50: '34.57' };
  const d = await describeDeepModels({ numClasses: 400, models: Object.keys(published), threads: 2 });
  assert.equal(Object.fromEntries(d.map((m) => [m.name, (m.parameters / 1e6).toFixed(2)])), published);
  assert.equal(Object.fromEntries(d.map((m) => [m.name, stage5IdOf(m.name)])), { i3d_r50: '5o', x3d_xs: '5q', x3d_s: '5q', x3d_m: '5q', slowfast_r50: '5r' });
  // Full-size networks on a short, small clip: the shapes flow through every block.
  const clip = join(dir, 'small_clip.npy');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(1).standard_normal((1, 3, 8, 64, 64)).astype(np.float32))', clip]);
  for (const model of ['i3d_r50', 'x3d_m', 'slowfast_r50', 'slowfast_attention', 'slowfast_multiscale']) {
    const r = await modelLogits({ model, input: clip, numClasses: 400, threads: 2 });
    assert.equal(r.shape, [1, 400], model);
    assert.ok(r.rows[0]?.every(Number.isFinite), model);
  }
});

test("fvc's depthwise 3D convolution (X3D's) matches LibTorch's: outputs, both gradients, and whole-model logits", async () => {
  const r = runCli(['info', '--check-kernels', '--json']);
  assert.is(r.code, 0, r.stderr);
  const checks = JSON.parse(r.stdout).kernelChecks as KernelCheck[];
  assert.is(checks.length, 4);
  assert.ok(checks.some((c) => /stride 1x2x2/.test(c.shape)) && checks.some((c) => /kernel 5x1x1/.test(c.shape)));
  for (const c of checks) {
    assert.is(c.largest, Math.max(c.forward, c.gradInput, c.gradWeight));
    assert.ok(c.ok && c.largest < 1e-5, JSON.stringify(c));
  }
  // The same X3D-S (random weights, eval mode) through fvc's kernels and through LibTorch's.
  const clip = join(dir, 'small_clip.npy');
  const native = await modelLogits({ model: 'x3d_s', input: clip, numClasses: 7, threads: 2 });
  process.env.FVC_NATIVE_DEPTHWISE = '0';
  try {
    const aten = await modelLogits({ model: 'x3d_s', input: clip, numClasses: 7, threads: 2 });
    const scale = Math.max(...aten.rows.flat().map(Math.abs));
    const diff = Math.max(...native.rows.flatMap((row, i) => row.map((v, j) => Math.abs(v - (aten.rows[i]?.[j] as number)))));
    // Often bit-identical: the forward kernel adds the taps in the order LibTorch 1.13's
    // does. That the native path runs at all is shown by the training test (gradients differ).
    assert.ok(scale > 0 && diff < 1e-4 * scale, `max |native - LibTorch| = ${diff}, largest logit ${scale}`);
  } finally {
    delete process.env.FVC_NATIVE_DEPTHWISE;
  }
});

test('slowfast refuses a clip whose length the slow pathway cannot divide', async () => {
  const clip = join(dir, 'odd_clip.npy');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((3, 6, 32, 32), np.float32))', clip]);
  const err = await modelLogits({ model: 'slowfast_r50', input: clip, scale: { width: 0.125, depth: 1 }, threads: 2 }).then(
    () => null,
    (e: Error & { code?: string }) => e,
  );
  assert.match(err?.message ?? '', /6 frames are not a multiple of 4/);
});

test('scale options shrink every model; fvc models lists them as JSON', async () => {
  const full = await describeDeepModels({ threads: 2 });
  const small = await describeDeepModels({ scale: { width: 0.25, depth: 1 }, threads: 2 });
  for (const m of full) assert.ok((small.find((s) => s.name === m.name)?.parameters ?? Infinity) < m.parameters / 10, m.name);
  const r = runCli(['models', '--json', '--width', '0.25']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.architectures.some((a: { name: string }) => a.name === 'naive_cnn'));
  assert.is(j.stage5.length, 28);
});

test("weights exported from torchvision give torchvision's logits (float32, CPU, within 1e-4)", async () => {
  for (const name of TORCHVISION) {
    const r = await modelLogits({ model: name, input: join(dir, 'clip.npy'), weights: join(dir, `${name}.safetensors`), numClasses: 5, threads: 2 });
    const expected = npyRows(join(dir, `${name}_logits.npy`));
    assert.equal(r.shape, [2, 5], name);
    assert.is(r.headReplaced.length, 0);
    const diff = Math.max(...r.rows.flatMap((row, i) => row.map((v, j) => Math.abs(v - (expected[i]?.[j] as number)))));
    assert.ok(diff < 1e-4, `${name}: max |fvc - torchvision| = ${diff}`);
  }
});

test('fvc logits: another class count keeps the backbone and replaces the head; JSON output', () => {
  const r = runCli(['logits', '--model', 'r3d_18', '--input', join(dir, 'clip.npy'), '--weights', join(dir, 'r3d_18.safetensors'), '--json', '--threads', '2']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.shape, [2, 2]);
  assert.equal(j.headReplaced, ['fc.weight', 'fc.bias']);
  assert.match(r.stderr, /head fc\.weight, fc\.bias left as built/);
});

test('bad weights and inputs are refused naming the file and the cause', () => {
  const wrong = runCli(['logits', '--model', 'mc3_18', '--input', join(dir, 'clip.npy'), '--weights', join(dir, 'r3d_18.safetensors'), '--num-classes', '5']);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /r3d_18\.safetensors: these weights do not fit the model.*\n {2}wrong shape: layer2\.0\.conv1\.0\.weight \(file \[128, 64, 3, 3, 3\], model \[128, 64, 1, 3, 3\]\)/);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(join(dir, 'mc3_18.safetensors')).subarray(0, 100_000));
  assert.match(runCli(['logits', '--model', 'mc3_18', '--input', join(dir, 'clip.npy'), '--weights', truncated]).stderr, /truncated\.safetensors: (tensor '.*' has byte range|not a safetensors file)/);
  const garbage = join(dir, 'garbage.safetensors');
  writeFileSync(garbage, 'not a tensor file at all');
  assert.match(runCli(['logits', '--model', 'mc3_18', '--input', join(dir, 'clip.npy'), '--weights', garbage]).stderr, /garbage\.safetensors: not a safetensors file/);
  const ints = join(dir, 'ints.npy');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((3, 4, 32, 32), dtype=np.int32))', ints]);
  assert.match(runCli(['logits', '--model', 'mc3_18', '--input', ints]).stderr, /ints\.npy: the array must be float32/);
  const gray = join(dir, 'gray.npy');
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((1, 4, 32, 32), dtype=np.float32))', gray]);
  assert.match(runCli(['logits', '--model', 'mc3_18', '--input', gray]).stderr, /gray\.npy: expected a float32 clip \[C, T, H, W\].*C = 3, got \[1, 1, 4, 32, 32\]/);
  assert.match(runCli(['logits', '--model', 'nope', '--input', gray]).stderr, /model 'nope': unknown deep model \(known: naive_cnn, .*r3d_18/);
  assert.match(runCli(['logits', '--model', 'r3d_18', '--input', join(dir, 'missing.npy')]).stderr, /missing\.npy: cannot open/);
});

test.run();
