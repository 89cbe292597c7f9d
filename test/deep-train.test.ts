/**
 * The native deep trainer on clips with a known answer: learning, resuming from the
 * last epoch's checkpoint, gradient accumulation, and one training step through
 * every architecture at a small scale (forward and backward).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeDeepModels, modelLogits } from '../ts/deep/architectures.js';
import { native } from '../ts/native/binding.js';
import { ALL_MODELS } from '../ts/train/registry.js';
import { predictDeepClips, trainDeepFold, type DeepOptions } from '../ts/deep/train.js';
import { computeMetrics } from '../ts/evaluation/metrics.js';
import { generateCorpus } from '../ts/corpus/generate.js';
import { train as trainModels } from '../ts/train/engine.js';
import { artefactClips, artifacts } from './helpers.js';

const dir = join(artifacts, 'deep-train');
type Clip = { npy: string; label: number };
let train: Clip[] = [];
let val: Clip[] = [];

const options = (o: Partial<DeepOptions> = {}): DeepOptions => ({
  numFrames: 4,
  cropSize: 40,
  frameSize: 48,
  epochs: 6,
  batchSize: 8,
  lrHead: 3e-3,
  lrBackbone: 5e-6,
  weightDecay: 1e-4,
  warmupEpochs: 1,
  maxGradNorm: 1,
  patience: 5,
  classWeights: true,
  augment: true,
  scale: { width: 0.5 },
  loaderThreads: 2,
  ...o,
});

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const clips = artefactClips(dir);
  train = clips.slice(0, 32);
  val = clips.slice(32);
});

test('naive_cnn learns a visible artefact: validation AUC far above chance, best checkpoint kept, large CPU blocks reused and released', async () => {
  const out = join(dir, 'naive');
  const epochs: number[] = [];
  // The cache's counters are the process's: earlier test files built full-size models.
  const before = native.runtimeInfo().torch.cpuCache;
  const r = await trainDeepFold({ architecture: 'naive_cnn', train, val, outDir: out, options: options(), seed: 1, threads: 2, device: 'cpu', resume: false, onEpoch: (e) => epochs.push(e.epoch) });
  assert.equal(epochs, [1, 2, 3, 4, 5, 6], 'an event per epoch');
  const m = computeMetrics(
    val.map((c) => c.label),
    r.valProbs,
  );
  assert.ok((m.roc_auc ?? 0) > 0.9, `val AUC ${m.roc_auc}`);
  assert.ok((r.epochs.at(-1)?.train_loss ?? 1) < (r.epochs[0]?.train_loss ?? 0), 'training loss falls');
  assert.ok(existsSync(join(out, 'model.pt')) && existsSync(join(out, 'last.pt')));
  // The returned probabilities are the best epoch's: predicting with model.pt gives them again.
  const again = await predictDeepClips({ architecture: 'naive_cnn', checkpoint: join(out, 'model.pt'), clips: val, options: options(), threads: 2, device: 'cpu' });
  for (let i = 0; i < val.length; i++) assert.ok(Math.abs((again[i] as number) - (r.valProbs[i] as number)) < 1e-5);
  assert.ok(r.epochs.filter((e) => e.best).at(-1)?.epoch === r.bestEpoch);
  // Steps reuse the activation blocks of the steps before them; a finished run holds none back.
  const cache = native.runtimeInfo().torch.cpuCache;
  const [hits, misses] = [cache.hits - before.hits, cache.misses - before.misses];
  assert.ok(hits > 10 * misses, `cache hits ${hits}, misses ${misses} during this run`);
  assert.is(cache.cachedBytes, 0);
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

test("labelSmoothing smooths the training loss as PyTorch's CrossEntropyLoss does (linear in the smoothing, class weights kept) and leaves validation alone", async () => {
  // At learning rate 0 the weights never move, so each run sees the same logits batch by batch.
  const run = (labelSmoothing: number) =>
    trainDeepFold({
      architecture: 'naive_cnn',
      train,
      val,
      outDir: join(dir, `smooth-${labelSmoothing}`),
      options: options({ epochs: 1, warmupEpochs: 0, lrHead: 0, lrBackbone: 0, augment: false, labelSmoothing }),
      seed: 5,
      threads: 2,
      device: 'cpu',
      resume: false,
    });
  const [a, b, c] = [await run(0), await run(0.3), await run(0.6)];
  const loss = (r: typeof a) => r.epochs[0]?.train_loss as number;
  assert.ok(Math.abs(loss(b) - loss(a)) > 1e-4, `smoothing changed nothing: ${loss(a)} vs ${loss(b)}`);
  // (1 - e) * weighted NLL + e * smoothing term: the loss at 0.3 lies halfway between those at 0 and 0.6.
  assert.ok(Math.abs(loss(b) - (loss(a) + loss(c)) / 2) < 1e-5 * Math.abs(loss(a)), `${loss(a)}, ${loss(b)}, ${loss(c)}`);
  assert.is(b.epochs[0]?.val_loss, a.epochs[0]?.val_loss);
  assert.equal([...b.valProbs], [...a.valProbs]);
});

test('two deep trainings started at once give what they give one after the other (seeded work is queued per process); one cancelled while it waits ends at once', async () => {
  const o = options({ epochs: 2 });
  const fold = (name: string, seed: number, signal?: AbortSignal) =>
    trainDeepFold({
      architecture: 'naive_cnn',
      train: train.slice(0, 16),
      val,
      outDir: join(dir, 'concurrent', name),
      options: o,
      seed,
      threads: 2,
      device: 'cpu',
      resume: false,
      ...(signal ? { signal } : {}),
    });
  const one = await fold('s1', 5);
  const two = await fold('s2', 6);
  const [a, b] = await Promise.all([fold('c1', 5), fold('c2', 6)]);
  assert.equal(Array.from(a.valProbs), Array.from(one.valProbs), 'seed 5 alone and beside seed 6');
  assert.equal(Array.from(b.valProbs), Array.from(two.valProbs), 'seed 6 alone and beside seed 5');
  const stop = new AbortController();
  const first = fold('q1', 7);
  const waiting = fold('q2', 8, stop.signal).catch((e: Error & { code?: string }) => e);
  stop.abort();
  const err = (await waiting) as Error & { code?: string };
  assert.is(err.code, 'ERR_ABORTED');
  assert.match(err.message, /while it waited/);
  await first;
});

test('on a generated corpus (flicker fakes, strength 8), naive_cnn and a scaled-down r2plus1d reach validation AUC well above chance under grouped 3-fold CV', async () => {
  const root = join(dir, 'corpus-auc');
  // At the default strength these tiny models stay near chance in 15 epochs; strength 8 makes
  // the flickering box plain enough to learn within the test budget.
  const corpus = await generateCorpus({ out: join(root, 'corpus'), videos: 96, duration: 0.6, seed: 3, manipulations: ['flicker'], strength: 8, quiet: true });
  const r = await trainModels({
    models: ['naive_cnn', 'r2plus1d'],
    videos: corpus.metadataPath,
    outputDir: join(root, 'stage5'),
    // The clips' frame cache lives in the test's folder, not the user's.
    frameCacheDir: join(root, 'cache'),
    nSplits: 3,
    numFrames: 8,
    seed: 1,
    threads: 2,
    quiet: true,
    plots: false,
    tracking: false,
    deep: { epochs: 15, patience: 15, batchSize: 8, frameSize: 64, cropSize: 56, width: 0.25, lrHead: 3e-3, warmupEpochs: 1 },
  });
  assert.equal(r.failed, []);
  assert.ok(
    readdirSync(join(root, 'cache'), { recursive: true }).some((f) => String(f).endsWith('.npy')),
    'clips cached in frameCacheDir',
  );
  const auc = Object.fromEntries(r.models.map((m) => [m.modelType, m.mean.val_auc ?? 0]));
  // Measured: naive_cnn 0.81 (folds 0.75-0.84), r2plus1d 0.98.
  assert.ok((auc.naive_cnn ?? 0) > 0.7, `naive_cnn mean val AUC ${auc.naive_cnn}`);
  assert.ok((auc.r2plus1d ?? 0) > 0.85, `r2plus1d mean val AUC ${auc.r2plus1d}`);
});

test('every architecture trains a step at a small scale, with gradient accumulation', async () => {
  const models = await describeDeepModels({ threads: 2 });
  assert.ok(models.length >= 13, models.map((m) => m.name).join());
  // The native registry owns each layout; the Stage 5 registry's declared inputs must agree with it.
  for (const m of ALL_MODELS.filter((s) => s.architectures))
    for (const a of m.architectures ?? []) assert.is(models.find((d) => d.name === a)?.layout === 'rgb+flow', m.inputs.includes('optical_flow'), a);
  const withFlow = async (c: Clip) => ({ ...c, flow: await native.computeFlow({ frames: c.npy, out: c.npy.replace(/\.npy$/, '.flow.npy') }) });
  const flowTrain = await Promise.all(train.slice(0, 8).map(withFlow));
  const flowVal = await Promise.all(val.slice(0, 4).map(withFlow));
  for (const { name: architecture, preset } of models) {
    const r = await trainDeepFold({
      architecture,
      train: flowTrain,
      val: flowVal,
      outDir: join(dir, `step-${architecture}`),
      options: options({ epochs: 1, batchSize: 4, microBatch: 2, cropSize: Math.max(32, preset.minSide), scale: { width: 0.125, depth: 1 } }),
      seed: 0,
      threads: 2,
      device: 'cpu',
      resume: false,
    });
    assert.ok(Number.isFinite(r.epochs[0]?.train_loss), architecture);
    assert.is(r.valProbs.length, 4);
  }
});

test('a deep call whose signal is already aborted is refused at once (it used to wait for a turn forever)', async () => {
  const started = Date.now();
  const err = await trainDeepFold({
    architecture: 'naive_cnn',
    train,
    val,
    outDir: join(dir, 'pre-aborted'),
    options: options({ epochs: 1 }),
    seed: 1,
    threads: 2,
    device: 'cpu',
    resume: false,
    signal: AbortSignal.abort(),
  }).then(
    () => null,
    (e: unknown) => e as { code?: string },
  );
  assert.is(err?.code, 'ERR_ABORTED');
  assert.ok(Date.now() - started < 5000);
  assert.not.ok(existsSync(join(dir, 'pre-aborted', 'last.pt')));
});

test('a fold whose training diverges stops with ERR_TORCH naming the epoch instead of keeping its scores', async () => {
  // lrHead 10 with weightDecay 10: AdamW's decoupled decay multiplies every weight by -99 a step, so they overflow within a few steps.
  const epochs: number[] = [];
  const err = await trainDeepFold({
    architecture: 'naive_cnn',
    train,
    val,
    outDir: join(dir, 'diverged'),
    options: options({ epochs: 8, lrHead: 10, weightDecay: 10, warmupEpochs: 0, augment: false, patience: 100 }),
    seed: 1,
    threads: 2,
    device: 'cpu',
    resume: false,
    onEpoch: (e) => epochs.push(e.epoch),
  }).then(
    () => null,
    (e: unknown) => e as { code?: string; message: string },
  );
  assert.is(err?.code, 'ERR_TORCH', String(err?.message));
  const at = Number(/^epoch (\d+): training diverged \(train loss [^)]*\); a lower learning rate \(lrHead\), weight decay or maxGradNorm may help/.exec(err?.message ?? '')?.[1]);
  assert.ok(at >= 1 && at <= 8, String(err?.message));
  assert.equal(
    epochs,
    Array.from({ length: at - 1 }, (_, i) => i + 1),
    'no epoch event for the diverged epoch',
  );
});

test("X3D trains the same through fvc's depthwise kernels as through LibTorch's (gradients included)", async () => {
  // One epoch of two optimiser steps: further on, runs part by chaos alone (LibTorch's
  // own 1- and 2-thread runs differ by 5% in training loss after six steps here).
  const o = options({ epochs: 1, batchSize: 8, augment: false, numFrames: 8, cropSize: 48, scale: { width: 0.25 } });
  const run = (outDir: string) =>
    trainDeepFold({ architecture: 'x3d_xs', train: train.slice(0, 16), val: val.slice(0, 8), outDir: join(dir, outDir), options: o, seed: 5, threads: 2, device: 'cpu', resume: false });
  const native = await run('x3d-native');
  process.env.FVC_NATIVE_DEPTHWISE = '0';
  const aten = await run('x3d-aten').finally(() => delete process.env.FVC_NATIVE_DEPTHWISE);
  for (const k of ['train_loss', 'val_loss'] as const) {
    const a = native.epochs[0]?.[k] as number,
      b = aten.epochs[0]?.[k] as number;
    assert.ok(Math.abs(a - b) < 1e-5, `${k}: ${a} vs ${b}`);
  }
  // Adam's first steps move each weight by about the learning rate whatever its gradient's
  // size, so summation-order differences in near-zero gradient entries become visible
  // here: up to 1.4e-5 against LibTorch 2.13's oneDNN kernels, under 1e-5 against 1.13's.
  const diff = Math.max(...native.valProbs.map((p, i) => Math.abs(p - (aten.valProbs[i] as number))));
  assert.ok(diff < 5e-5, `validation probabilities differ by ${diff}`);
  assert.ok(diff > 0, 'the same bits with FVC_NATIVE_DEPTHWISE=0: the native path never ran');
});

test("optical flow matches OpenCV's own Python binding (DIS, fast preset) on a moving pattern", async () => {
  const frames = join(dir, 'moving.npy');
  const script = `
import sys, json, numpy as np, cv2
rng = np.random.default_rng(5)
base = cv2.GaussianBlur(rng.integers(0, 255, size=(64, 96)).astype(np.uint8), (5, 5), 0)
# Each frame moves the pattern 2 px right and 1 px down.
frames = np.stack([np.roll(np.roll(base, 2 * i, axis=1), i, axis=0) for i in range(4)])
np.save(sys.argv[1], np.repeat(frames[..., None], 3, axis=3))
dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
flows = [dis.calc(frames[i], frames[i + 1], None) for i in range(3)]
print(json.dumps([np.clip(np.rint(128 + 8 * f), 0, 255).astype(np.uint8).tolist() for f in flows]))
`;
  const reference = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, frames], { maxBuffer: 1 << 26 }).toString()) as number[][][][];
  const out = await native.computeFlow({ frames, out: join(dir, 'moving.flow.npy'), method: 'dis' });
  const ours = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', 'import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).astype(int).tolist()))', out], { maxBuffer: 1 << 26 }).toString(),
  ) as number[][][][];
  assert.is(ours.length, 4);
  let maxDiff = 0;
  let dx = 0;
  let dy = 0;
  let n = 0;
  for (let f = 0; f < 3; f++)
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 96; x++) {
        const a = ours[f]?.[y]?.[x] as number[];
        const b = reference[f]?.[y]?.[x] as number[];
        maxDiff = Math.max(maxDiff, Math.abs((a[0] as number) - (b[0] as number)), Math.abs((a[1] as number) - (b[1] as number)));
        if (y > 8 && y < 56 && x > 8 && x < 88) {
          dx += ((a[0] as number) - 128) / 8;
          dy += ((a[1] as number) - 128) / 8;
          n++;
        }
      }
  assert.ok(maxDiff <= 1, `largest difference from cv2: ${maxDiff} (1/8 px units)`);
  assert.ok(Math.abs(dx / n - 2) < 0.3 && Math.abs(dy / n - 1) < 0.3, `mean flow ${dx / n}, ${dy / n}`);
  assert.equal(ours[3], ours[2], 'the last frame repeats the flow into it');
});

test("variable_ar_cnn: a clip's logits do not depend on the padding of the batch it is in", async () => {
  const script = `
import sys, numpy as np
rng = np.random.default_rng(2)
a = rng.standard_normal((4, 2, 48, 32)).astype(np.float32); a[3] = 1
b = rng.standard_normal((4, 2, 32, 48)).astype(np.float32); b[3] = 1
np.save(sys.argv[1] + '/ar_alone.npy', a[None])
pad = lambda c: np.pad(c, ((0, 0), (0, 0), (0, 48 - c.shape[2]), (0, 48 - c.shape[3])))
np.save(sys.argv[1] + '/ar_batch.npy', np.stack([pad(a), pad(b)]))
`;
  execFileSync('/usr/bin/python3', ['-c', script, dir]);
  const alone = await modelLogits({ model: 'variable_ar_cnn', input: join(dir, 'ar_alone.npy'), scale: { width: 0.5 }, threads: 2 });
  const batch = await modelLogits({ model: 'variable_ar_cnn', input: join(dir, 'ar_batch.npy'), scale: { width: 0.5 }, threads: 2 });
  for (let k = 0; k < 2; k++) assert.ok(Math.abs((alone.rows[0]?.[k] ?? 0) - (batch.rows[0]?.[k] ?? 1)) < 1e-5, `${alone.rows[0]} vs ${batch.rows[0]}`);
});

test('bad clips are refused naming the file', async () => {
  const err = await trainDeepFold({
    architecture: 'naive_cnn',
    train: [{ npy: join(dir, 'nope.npy'), label: 1 }, ...train.slice(0, 3)],
    val: val.slice(0, 2),
    outDir: join(dir, 'bad'),
    options: options({ epochs: 1 }),
    seed: 0,
    threads: 2,
    device: 'cpu',
    resume: false,
  }).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /nope\.npy: cannot open/);
});

test.run();
