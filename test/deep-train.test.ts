/**
 * The native deep trainer on clips with a known answer: learning, resuming from the
 * last epoch's checkpoint, gradient accumulation, and one training step through
 * every architecture at a small scale (forward and backward).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeDeepModels } from '../ts/deep/models.js';
import { predictDeepClips, trainDeepFold, type DeepOptions } from '../ts/deep/train.js';
import { computeMetrics } from '../ts/train/metrics.js';
import { artifacts } from './helpers.js';

const dir = join(artifacts, 'deep-train');
type Clip = { npy: string; label: number };
let train: Clip[] = [];
let val: Clip[] = [];

const options = (o: Partial<DeepOptions> = {}): DeepOptions => ({
  numFrames: 4, cropSize: 40, frameSize: 48, epochs: 6, batchSize: 8, lrHead: 3e-3, lrBackbone: 5e-6, weightDecay: 1e-4, warmupEpochs: 1,
  maxGradNorm: 1, patience: 5, classWeights: true, augment: true, scale: { width: 0.5 }, loaderThreads: 2, ...o,
});

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Frame-cache-shaped clips (uint8 [8, 48, 48, 3]): fakes carry a bright square somewhere, reals do not.
  const script = `
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(0)
for i in range(48):
    label = i % 2
    x = rng.integers(0, 120, size=(8, 48, 48, 3), dtype=np.uint8)
    if label:
        r, c = rng.integers(4, 28, size=2)
        x[:, r:r + 14, c:c + 14, :] = 230
    np.save(f"{out}/clip_{i:02d}_{label}.npy", x)
`;
  execFileSync('/usr/bin/python3', ['-c', script, dir]);
  const clips = Array.from({ length: 48 }, (_, i) => ({ npy: join(dir, `clip_${String(i).padStart(2, '0')}_${i % 2}.npy`), label: i % 2 }));
  train = clips.slice(0, 32);
  val = clips.slice(32);
});

test('naive_cnn learns a visible artefact: validation AUC far above chance, best checkpoint kept, data never the bottleneck', async () => {
  const out = join(dir, 'naive');
  const epochs: number[] = [];
  const r = await trainDeepFold({ architecture: 'naive_cnn', train, val, outDir: out, options: options(), seed: 1, threads: 2, device: 'cpu', resume: false, onEpoch: (e) => epochs.push(e.epoch) });
  assert.equal(epochs, [1, 2, 3, 4, 5, 6], 'an event per epoch');
  const m = computeMetrics(val.map((c) => c.label), r.valProbs);
  assert.ok((m.roc_auc ?? 0) > 0.9, `val AUC ${m.roc_auc}`);
  assert.ok((r.epochs.at(-1)?.train_loss ?? 1) < (r.epochs[0]?.train_loss ?? 0), 'training loss falls');
  assert.ok(existsSync(join(out, 'model.pt')) && existsSync(join(out, 'last.pt')));
  // The returned probabilities are the best epoch's: predicting with model.pt gives them again.
  const again = await predictDeepClips({ architecture: 'naive_cnn', checkpoint: join(out, 'model.pt'), clips: val, options: options(), threads: 2, device: 'cpu' });
  for (let i = 0; i < val.length; i++) assert.ok(Math.abs((again[i] as number) - (r.valProbs[i] as number)) < 1e-5);
  assert.ok(r.epochs.filter((e) => e.best).at(-1)?.epoch === r.bestEpoch);
});

test('training resumes from the last epoch checkpoint and ends where an uninterrupted run ends', async () => {
  const o = options({ epochs: 4, augment: false });
  const whole = await trainDeepFold({ architecture: 'naive_cnn', train, val, outDir: join(dir, 'whole'), options: o, seed: 3, threads: 2, device: 'cpu', resume: false });
  const part = join(dir, 'part');
  await trainDeepFold({ architecture: 'naive_cnn', train, val, outDir: part, options: { ...o, epochs: 2 }, seed: 3, threads: 2, device: 'cpu', resume: false });
  const resumed = await trainDeepFold({ architecture: 'naive_cnn', train, val, outDir: part, options: o, seed: 3, threads: 2, device: 'cpu', resume: true });
  assert.is(resumed.resumedFrom, 2);
  assert.is(resumed.epochs.length, 4, 'the history spans both runs');
  assert.ok(Math.abs((resumed.epochs[3]?.val_loss ?? 0) - (whole.epochs[3]?.val_loss ?? 1)) < 0.05, `${resumed.epochs[3]?.val_loss} vs ${whole.epochs[3]?.val_loss}`);
});

test('every architecture trains a step at a small scale, with gradient accumulation', async () => {
  const architectures = (await describeDeepModels({ threads: 2 })).map((d) => d.name);
  assert.ok(architectures.length >= 11, architectures.join());
  for (const architecture of architectures) {
    const r = await trainDeepFold({ architecture, train: train.slice(0, 8), val: val.slice(0, 4), outDir: join(dir, `step-${architecture}`), options: options({ epochs: 1, batchSize: 4, microBatch: 2, cropSize: 32, scale: { width: 0.125, depth: 1 } }), seed: 0, threads: 2, device: 'cpu', resume: false });
    assert.ok(Number.isFinite(r.epochs[0]?.train_loss), architecture);
    assert.is(r.valProbs.length, 4);
  }
});

test('bad clips are refused naming the file', async () => {
  const err = await trainDeepFold({ architecture: 'naive_cnn', train: [{ npy: join(dir, 'nope.npy'), label: 1 }, ...train.slice(0, 3)], val: val.slice(0, 2), outDir: join(dir, 'bad'), options: options({ epochs: 1 }), seed: 0, threads: 2, device: 'cpu', resume: false }).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /nope\.npy: cannot open/);
});

test.run();
