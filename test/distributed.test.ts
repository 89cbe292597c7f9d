/**
 * Data-parallel training of one fold over c10d's Gloo on this CPU: two ranks (separate
 * processes, as fvc's launcher starts them) against one process with the same global
 * batch, a killed rank, a killed fold resumed, `fvc train --nproc-per-node 2`, and the
 * rank environment as srun and torchrun set it. The two-task SLURM job is in slurm.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { trainDeepFold, type DeepFoldResult } from '../ts/deep/train.js';
import { firstHost, rankFromEnvironment } from '../ts/distributed/environment.js';
import { launchLocal, type LaunchResult } from '../ts/distributed/launch.js';
import { generateCorpus } from '../ts/corpus/generate.js';
import { artefactClips, artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'distributed');
type Clip = { npy: string; label: number };
let train: Clip[] = [];
let val: Clip[] = [];

// A transformer at test width: no batch norm and no dropout, so two ranks can match one process.
const options = {
  numFrames: 4,
  cropSize: 32,
  frameSize: 48,
  epochs: 4,
  batchSize: 8,
  microBatch: 2,
  lrHead: 1e-3,
  warmupEpochs: 1,
  augment: true,
  classWeights: true,
  patience: 100,
  scale: { width: 0.25, depth: 1 },
  loaderThreads: 1,
};
const fold = (out: string, o: Partial<typeof options> & { resume?: boolean } = {}) => {
  const { resume, ...rest } = o;
  return { architecture: 'vit_ti_16', train, val, outDir: join(dir, out), options: { ...options, ...rest }, seed: 3, threads: 1, device: 'cpu' as const, resume: resume ?? false };
};

/** Two ranks of `f` through fvc's launcher; rank 0's result and every rank's output. */
async function twoRanks(f: ReturnType<typeof fold>, env: Record<string, string> = {}): Promise<{ launch: LaunchResult; result?: DeepFoldResult; lines: string[]; seconds: number }> {
  const out = `${f.outDir}.json`;
  rmSync(out, { force: true });
  const lines: string[] = [];
  const t0 = Date.now();
  const launch = await launchLocal(2, {
    argv: [join(root, 'test', 'distributed_rank.ts'), JSON.stringify(f), out],
    env: { ...process.env, FVC_TEST_TIMEOUT: '60', ...env },
    graceSeconds: 20,
    output: (rank, _stream, line) => lines.push(`[${rank}] ${line}`),
    log: (m) => lines.push(m),
  });
  return { launch, ...(existsSync(out) ? { result: JSON.parse(readFileSync(out, 'utf8')) as DeepFoldResult } : {}), lines, seconds: (Date.now() - t0) / 1000 };
}

/** Every parameter of a checkpoint fvc wrote, then its buffers (batch-norm statistics), flattened in order (Python's TorchScript loader reads LibTorch's archives). */
function weights(checkpoint: string, what: 'parameters' | 'buffers' = 'parameters'): number[] {
  const script = `import sys, json, torch\nm = torch.jit.load(sys.argv[1])\nprint(json.dumps(torch.cat([p.double().flatten() for _, p in m.named_${what}()]).tolist()))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, checkpoint], { maxBuffer: 1 << 28 }).toString()) as number[];
}

function compareWeights(a: number[], b: number[]): { relative: number; maxAbs: number } {
  let diff = 0,
    norm = 0,
    maxAbs = 0;
  a.forEach((v, i) => {
    const d = v - (b[i] as number);
    diff += d * d;
    norm += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  });
  assert.is(a.length, b.length);
  return { relative: Math.sqrt(diff / norm), maxAbs };
}

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const clips = artefactClips(dir);
  // 28 training clips, 19 real and 9 fake (class weights matter), split evenly over two
  // ranks; 9 validation clips, so one rank's shard repeats one (DistributedSampler's padding).
  train = clips.slice(0, 38).filter((_, i) => i % 4 !== 1);
  val = clips.slice(38, 47);
});

let single: DeepFoldResult;

test('two Gloo ranks train a fold to the weights, losses and validation predictions of one process with the same global batch', async () => {
  single = await trainDeepFold(fold('single', { microBatch: 0 }));
  // Each rank takes 4 clips of every step of 8, in two micro-batches of 2: accumulation and the all-reduce must add up to one pass.
  const two = await twoRanks(fold('two'));
  assert.is(two.launch.code, 0, two.lines.join('\n'));
  const r = two.result as DeepFoldResult;
  assert.is(r.epochs.length, 4);
  // Summation order differs (per-rank sums, then the all-reduce): float32 rounding, nothing more.
  for (const [i, e] of r.epochs.entries()) {
    const s = single.epochs[i] as (typeof r.epochs)[number];
    for (const k of ['train_loss', 'val_loss', 'val_acc'] as const) assert.ok(Math.abs(e[k] - s[k]) <= 1e-5 * Math.abs(s[k]) + 1e-7, `epoch ${e.epoch} ${k}: ${e[k]} vs ${s[k]}`);
  }
  const probs = Math.max(...r.valProbs.map((p, i) => Math.abs(p - (single.valProbs[i] as number))));
  assert.ok(probs < 1e-5, `validation probabilities differ by ${probs}`);
  const w = compareWeights(weights(join(dir, 'two', 'last.pt')), weights(join(dir, 'single', 'last.pt')));
  // Stated tolerance: 1e-5 relative over all parameters; no weight off by a tenth of the learning rate (so no step went another way).
  assert.ok(w.relative < 1e-5 && w.maxAbs < 1e-4, `weights differ: ${JSON.stringify(w)}`);
  assert.ok(w.maxAbs > 0, 'bit-identical weights: did rank 1 train at all?');
  assert.ok(
    two.lines.some((l) => /^\[1\] rank 1 of 2: job 0 \(vit_ti_16, .*\) done/.test(l)),
    two.lines.join('\n'),
  );
});

test('synchronised batch norm (deep.syncBatchNorm): two ranks train a batch-norm network as one process does; per-rank batch norm (the default) does not', async () => {
  // r2plus1d_18 at test width: batch norm in every block, no dropout. No accumulation, so each step's statistics are its 8 clips'.
  const bn = { ...{ microBatch: 0, epochs: 2, warmupEpochs: 0, augment: false }, scale: { width: 0.125, depth: 1 } };
  const one = { ...fold('bn-single', bn), architecture: 'r2plus1d_18' };
  const single = await trainDeepFold(one);
  const synced = await twoRanks({ ...fold('bn-sync', { ...bn, syncBatchNorm: true } as typeof bn), architecture: 'r2plus1d_18' });
  const local = await twoRanks({ ...fold('bn-local', bn), architecture: 'r2plus1d_18' });
  assert.is(synced.launch.code, 0, synced.lines.join('\n'));
  assert.is(local.launch.code, 0, local.lines.join('\n'));
  const compare = (run: string, what: 'parameters' | 'buffers') => compareWeights(weights(join(dir, run, 'last.pt'), what), weights(join(dir, 'bn-single', 'last.pt'), what));
  for (const what of ['parameters', 'buffers'] as const) {
    const w = compare('bn-sync', what);
    assert.ok(w.relative < 1e-5, `synchronised ${what} differ: ${JSON.stringify(w)}`);
  }
  const perRank = compare('bn-local', 'parameters');
  assert.ok(perRank.relative > 1e-4, `per-rank batch norm matched one process too: ${JSON.stringify(perRank)}`);
  const probs = Math.max(...(synced.result as DeepFoldResult).valProbs.map((p, i) => Math.abs(p - (single.valProbs[i] as number))));
  assert.ok(probs < 1e-4, `validation probabilities differ by ${probs}`);
});

test('a global batch that does not split over the ranks is refused by every rank, naming batchSize', async () => {
  const r = await twoRanks(fold('odd', { batchSize: 7, microBatch: 0, epochs: 1 }));
  assert.is(r.launch.code, 1);
  assert.ok(
    r.lines.some((l) => l.startsWith('[0]') && /batchSize: 7 clips per step do not split evenly over 2 ranks/.test(l)),
    r.lines.join('\n'),
  );
  assert.ok(
    r.lines.some((l) => l.startsWith('[1]') && /job 0 .* failed: batchSize: 7/.test(l)),
    r.lines.join('\n'),
  );
});

test('a fold rank 0 gives up before it starts ends on the other ranks at once, with its reason (no wait for the timeout)', async () => {
  const r = await twoRanks(fold('abandoned', { epochs: 1 }), { FVC_TEST_ABORTED: '1', FVC_TEST_TIMEOUT: '120' });
  assert.ok(
    r.lines.some((l) => l.startsWith('[1]') && /job 0 .* failed: rank 1 of 2, job 0: rank 0 ended the job before it began: .*abort/i.test(l)),
    r.lines.join('\n'),
  );
  assert.ok(r.seconds < 60, `${r.seconds} s with a 120 s timeout`);
});

test('a rank killed mid-fold ends rank 0 at once with an error naming it, well within the timeout; the launcher names it too', async () => {
  const r = await twoRanks(fold('killed', { epochs: 400 }), { FVC_TEST_KILL_RANK: '1', FVC_TEST_KILL_AFTER_EPOCH: '4' });
  assert.equal(r.launch.failure && [r.launch.failure.rank, r.launch.failure.how], [1, 'was killed by SIGKILL'], r.lines.join('\n'));
  const error = r.lines.find((l) => l.startsWith('[0]') && /ERR_DISTRIBUTED|rank 1 stopped answering/.test(l));
  // Hundreds of epoch lines would push what matters out of the report.
  const said = r.lines.filter((l) => !/^\[0\] epoch \d+$/.test(l)).join('\n');
  assert.ok(error && /rank 0 of 2, job 0: (all-reduce|broadcast|barrier) failed: rank 1 stopped answering/.test(error), `${r.lines.filter((l) => /epoch/.test(l)).at(-1)}\n${said}`);
  assert.ok(r.seconds < 45, `${r.seconds} s: the timeout is 60 s and the grace period 20 s, so rank 0 must have ended by itself`);
});

test('a 2-rank fold killed (kill -9 of rank 0) resumes from its last checkpoint and ends where an uninterrupted run ends', async () => {
  const killed = await twoRanks(fold('resumed'), { FVC_TEST_KILL_RANK: '0', FVC_TEST_KILL_AFTER_EPOCH: '2' });
  assert.equal(killed.launch.failure?.rank, 0, killed.lines.join('\n'));
  assert.ok(
    killed.lines.some((l) => l.startsWith('[1]') && /rank 0, which serves the rendezvous at 127\.0\.0\.1:\d+, went away/.test(l)),
    killed.lines.join('\n'),
  );
  const resumed = await twoRanks(fold('resumed', { resume: true }));
  assert.is(resumed.launch.code, 0, resumed.lines.join('\n'));
  const r = resumed.result as DeepFoldResult;
  assert.is(r.resumedFrom, 2);
  assert.is(r.epochs.length, 4, 'the history spans both runs');
  const last = (x: DeepFoldResult) => x.epochs.at(-1)?.val_loss as number;
  assert.ok(Math.abs(last(r) - last(single)) < 1e-5 * last(single), `${last(r)} vs ${last(single)}`);
  const w = compareWeights(weights(join(dir, 'resumed', 'last.pt')), weights(join(dir, 'single', 'last.pt')));
  assert.ok(w.relative < 1e-5 && w.maxAbs < 1e-4, `weights differ: ${JSON.stringify(w)}`);
});

test('fvc train --nproc-per-node 2 trains every fold of a deep model on two local ranks; rank 1 runs each fold with rank 0', async () => {
  const corpus = await generateCorpus({ out: join(dir, 'corpus'), videos: 8, duration: 1, seed: 4, quiet: true });
  const out = join(dir, 'stage5');
  const args = [
    ...['train', '--models', 'naive_cnn', '--videos', corpus.metadataPath, '--output-dir', out, '--frame-cache-dir', join(dir, 'cache'), '--n-splits', '2', '--epochs', '1'],
    ...['--num-frames', '4', '--frame-size', '48', '--crop-size', '40', '--width', '0.25', '--batch-size', '4', '--device', 'cpu', '--no-tracking', '--no-plots', '--threads', '2'],
  ];
  const r = runCli([...args, '--nproc-per-node', '2', '--dist-timeout', '60']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /starting 2 ranks on this machine/);
  for (const job of [0, 1]) assert.match(r.stderr, new RegExp(`\\[rank 1\\] rank 1 of 2: job ${job} \\(naive_cnn, .*fold_${job + 1}\\) done`));
  assert.match(r.stderr, /\[rank 1\] rank 1 of 2: rank 0 finished after 2 job\(s\)/);
  for (const f of [1, 2]) assert.ok(existsSync(join(out, 'naive_cnn', `fold_${f}`, 'model.pt')), `fold ${f}`);
  assert.ok(existsSync(join(out, 'naive_cnn', 'metrics.json')));
});

test('the rank environment: fvc launcher, srun with several tasks (rank 0 on the first node), torchrun; a plain process and a batch shell are not ranks; a port past 65535 is refused naming its variable', () => {
  assert.is(rankFromEnvironment({}), null);
  assert.is(rankFromEnvironment({ SLURM_PROCID: '0', SLURM_NTASKS: '4', SLURM_JOB_NODELIST: 'gpu[01-02]' }), null, 'a batch script is not a job step');
  assert.equal(rankFromEnvironment({ FVC_RANK: '1', FVC_WORLD_SIZE: '2', FVC_MASTER_PORT: '1234' }), {
    rank: 1,
    worldSize: 2,
    localRank: 1,
    localWorldSize: 2,
    address: '127.0.0.1',
    port: 1234,
    launcher: 'fvc',
  });
  assert.equal(
    rankFromEnvironment({
      SLURM_PROCID: '5',
      SLURM_STEP_NUM_TASKS: '8',
      SLURM_LOCALID: '1',
      SLURM_STEP_TASKS_PER_NODE: '4(x2)',
      SLURM_JOB_NODELIST: 'gpu[07-08]',
      SLURM_JOB_ID: '123456',
    }),
    { rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, address: 'gpu07', port: 23456, launcher: 'slurm' },
  );
  assert.is(rankFromEnvironment({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0', MASTER_ADDR: 'n1', MASTER_PORT: '29500' })?.launcher, 'torchrun');
  assert.is(firstHost('node1,node2'), 'node1');
  assert.is(firstHost('a-b[009-012,020]'), 'a-b009');
  assert.throws(() => rankFromEnvironment({ FVC_RANK: '2', FVC_WORLD_SIZE: '2', FVC_MASTER_PORT: '1' }), /FVC_RANK: 2 is outside 0\.\.1/);
  // A port past 65535 is refused by the variable that set it, before the native rendezvous sees it.
  assert.throws(() => rankFromEnvironment({ FVC_RANK: '0', FVC_WORLD_SIZE: '2', FVC_MASTER_PORT: '70000' }), /FVC_MASTER_PORT: expected an integer from 1 to 65535, got "70000"/);
  assert.throws(() => rankFromEnvironment({ SLURM_PROCID: '0', SLURM_STEP_NUM_TASKS: '2', SLURM_JOB_NODELIST: 'n1', MASTER_PORT: '65536' }), /MASTER_PORT: expected an integer from 1 to 65535/);
});

test.run();
