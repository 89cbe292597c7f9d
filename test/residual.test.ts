/**
 * The residual-stream detectors (issue 32): srm_cnn's fixed SRM filters checked by the
 * logits of an independent PyTorch implementation given the same weights (its kernels
 * and ±3 clipping are not in the file, so only equal kernels give equal logits), and
 * constrained_cnn's Bayar–Stamm constraint read back from fvc's own checkpoints after
 * training (python3-torch loads them).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelLogits } from '../ts/deep/architectures.js';
import { trainDeepFold } from '../ts/deep/train.js';
import { artefactClips, artifacts, npyValues, root } from './helpers.js';

const dir = join(artifacts, 'residual');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'residual_reference.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
});

test("srm_cnn's SRM kernels (KV/12, KB/4, [1,-2,1]/2, summed over RGB) and ±3 clipping give the reference's logits (within 1e-4)", async () => {
  const r = await modelLogits({ model: 'srm_cnn', input: join(dir, 'clip.npy'), weights: join(dir, 'srm_cnn.pth'), threads: 2 });
  const want = npyValues(join(dir, 'srm_cnn_logits.npy'));
  const d = r.rows.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - (want[i] as number))), 0);
  assert.ok(d < 1e-4, `max |fvc - reference| = ${d}`);
});

test("constrained_cnn's filters keep centre -1 and the other weights summing to +1 after every optimiser step", async () => {
  const clips = artefactClips(dir);
  const options = {
    numFrames: 4,
    cropSize: 32,
    frameSize: 48,
    epochs: 2,
    batchSize: 4,
    lrHead: 1e-2,
    lrBackbone: 1e-2,
    weightDecay: 1e-4,
    warmupEpochs: 0,
    maxGradNorm: 1,
    patience: 5,
    classWeights: true,
    augment: false,
    scale: { width: 0.25 },
    loaderThreads: 2,
  };
  const out = join(dir, 'constrained');
  await trainDeepFold({ architecture: 'constrained_cnn', train: clips.slice(0, 12), val: clips.slice(32, 36), outDir: out, options, seed: 0, threads: 2, device: 'cpu', resume: false });
  const script = `
import sys, json, torch
out = {}
for name in sys.argv[1:]:
    w = torch.jit.load(name).state_dict()['constrained.weight'].double()
    centre = w[:, :, 2, 2]
    rest = w.sum((2, 3)) - centre
    out[name] = [centre.tolist(), rest.tolist(), float(w.abs().sum())]
print(json.dumps(out))`;
  const r = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, join(out, 'last.pt'), join(out, 'model.pt')]).toString()) as Record<string, [number[][], number[][], number]>;
  for (const [file, [centre, rest, mass]] of Object.entries(r)) {
    for (const v of centre.flat()) assert.is(v, -1, `${file}: centre`);
    for (const v of rest.flat()) assert.ok(Math.abs(v - 1) < 1e-5, `${file}: the other weights sum to ${v}`);
    assert.ok(mass > 9 * 2, `${file}: not all zero`);
  }
});

test.run();
