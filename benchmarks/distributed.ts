/**
 * Data-parallel training on this machine's CPU: the optimiser step time of one fold with
 * one rank (all threads) against two Gloo ranks (half the threads each) at the same
 * global batch, through fvc's launcher, for naive_cnn and r2plus1d_18 at test width and
 * r2plus1d_18 at full width; PyTorch's DistributedDataParallel over Gloo is the peer for
 * the last (benchmarks/distributed_python.py: torchvision has no narrow variant). Scaling
 * efficiency = (one rank's step time / two ranks' step time) / 2. Two ranks on two cores
 * split the same cores, so this measures the overhead of the all-reduce and of smaller
 * per-rank batches, not a speed-up; a GPU node measures scaling (scripts/gpu-check.sh).
 * Medians over every timed step (epochs after the first), runs alternating for BENCH_ROUNDS.
 *
 *   npm run bench:distributed      (writes benchmarks/results/distributed-<date>.md)
 *   BENCH_DEVICE=cuda BENCH_PYTHON=python3 node --import tsx benchmarks/distributed.ts   (GPUs: NCCL)
 *   BENCH_ROUNDS=1 BENCH_EPOCHS=2 npm run bench:distributed
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainDeepFold } from '../ts/deep/train.js';
import { rankFromEnvironment } from '../ts/distributed/environment.js';
import { launchLocal } from '../ts/distributed/launch.js';
import { finishRendezvous, followRankZero, joinRendezvous } from '../ts/distributed/session.js';
import { resultsDir, smoke, workDir } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const EPOCHS = smoke ? 2 : Number(process.env.BENCH_EPOCHS ?? 3);
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
// cuda: each rank on its own GPU over NCCL (scripts/gpu-check.sh; FVC_DIST_BACKEND=gloo lets two ranks share one GPU).
const DEVICE: 'cuda' | 'cpu' = process.env.BENCH_DEVICE === 'cuda' ? 'cuda' : 'cpu';
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Case {
  label: string;
  architecture: string;
  width: number;
  frames: number;
  size: number;
  batch: number;
  steps: number;
  python?: boolean;
}
const CASES: Case[] = [
  { label: 'naive_cnn, width 0.25', architecture: 'naive_cnn', width: 0.25, frames: 8, size: 112, batch: 8, steps: 4 },
  { label: 'r2plus1d_18, width 0.25', architecture: 'r2plus1d_18', width: 0.25, frames: 8, size: 112, batch: 8, steps: 4 },
  { label: 'r2plus1d_18', architecture: 'r2plus1d_18', width: 1, frames: 8, size: 112, batch: 4, steps: 2, python: true },
]
  // Smoke: one fvc case and the one with the PyTorch peer, at the smallest size.
  .filter((c) => !smoke || c.architecture === 'naive_cnn' || c.python)
  .map((c) => (smoke ? { ...c, size: 32, frames: 4, steps: 1, batch: 2 } : c));

function fold(c: Case, out: string, threads: number) {
  const dir = workDir('distributed', 'clips', `${c.frames}x${c.size}`);
  const clips = Array.from({ length: c.batch * c.steps }, (_, i) => ({ npy: join(dir, `clip${i}.npy`), label: i % 2 }));
  execFileSync('/usr/bin/python3', [
    '-c',
    'import sys, numpy as np\nfor i in range(int(sys.argv[4])):\n    np.save(f"{sys.argv[1]}/clip{i}.npy", np.random.default_rng(i).integers(0, 255, size=(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[3]), 3), dtype=np.uint8))',
    dir,
    String(c.frames),
    String(c.size + 16),
    String(clips.length),
  ]);
  const options = { numFrames: c.frames, cropSize: c.size, frameSize: c.size + 16, epochs: EPOCHS, batchSize: c.batch, augment: true, patience: 1000, scale: { width: c.width }, loaderThreads: 1 };
  return { architecture: c.architecture, train: clips, val: clips.slice(0, 2), outDir: out, options, seed: 1, threads, device: DEVICE, resume: false };
}

/** Seconds per optimiser step of every epoch after the first (rank 0's, which waits for the all-reduce). */
const stepTimes = (epochs: Array<{ train_seconds: number }>, steps: number) => epochs.slice(1).map((e) => e.train_seconds / steps);

// A rank of a two-rank run: this file again, started by fvc's launcher.
const asRank = rankFromEnvironment();
if (asRank) {
  const [, , , request, result] = process.argv;
  const f = JSON.parse(readFileSync(request as string, 'utf8')) as ReturnType<typeof fold>;
  await joinRendezvous(asRank, { threads: f.threads, timeoutSeconds: 600 });
  if (asRank.rank > 0) await followRankZero({ log: () => undefined });
  else {
    const r = await trainDeepFold(f).finally(finishRendezvous);
    writeFileSync(result as string, JSON.stringify(r.epochs));
  }
  process.exit(0);
}

const rows: string[] = [];
for (const c of CASES) {
  const one: number[] = [],
    two: number[] = [],
    py1: number[] = [],
    py2: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const out = workDir('distributed', 'runs', c.architecture);
    rmSync(out, { recursive: true, force: true });
    const single = await trainDeepFold(fold(c, join(out, 'one'), THREADS));
    one.push(...stepTimes(single.epochs, c.steps));
    const request = join(out, 'fold.json');
    const result = join(out, 'two.json');
    mkdirSync(out, { recursive: true });
    writeFileSync(request, JSON.stringify(fold(c, join(out, 'two'), Math.max(1, Math.floor(THREADS / 2)))));
    const launched = await launchLocal(2, { argv: [fileURLToPath(import.meta.url), 'rank', request, result], log: () => undefined });
    if (launched.code) throw new Error(`${c.label}: the two-rank run failed (${JSON.stringify(launched.failure)})`);
    two.push(...stepTimes(JSON.parse(readFileSync(result, 'utf8')) as Array<{ train_seconds: number }>, c.steps));
    if (c.python)
      for (const [world, into] of [
        [1, py1],
        [2, py2],
      ] as const) {
        const args = [join(here, 'distributed_python.py'), String(world), String(c.frames), String(c.size), String(c.batch), String(Math.max(2, c.steps * (EPOCHS - 1))), String(THREADS), DEVICE];
        into.push(...(JSON.parse(execFileSync(PYTHON, args).toString()) as { step_seconds: number[] }).step_seconds);
      }
  }
  const [t1, t2] = [median(one), median(two)];
  const peer = c.python ? `${median(py1).toFixed(2)} | ${median(py2).toFixed(2)} | ${((median(py1) / median(py2)) * 50).toFixed(0)}%` : '— | — | —';
  rows.push(`| ${c.label} | ${c.batch} x [3, ${c.frames}, ${c.size}, ${c.size}] | ${t1.toFixed(2)} | ${t2.toFixed(2)} | **${((t1 / t2) * 50).toFixed(0)}%** | ${peer} |`);
  process.stderr.write(`${rows.at(-1)}\n`);
}

const date = new Date().toISOString().slice(0, 10);
const torchVersion = execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)']).toString().trim();
const out = [
  `### ${date} — ${cpus().length} x ${cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${THREADS} threads, ${DEVICE === 'cuda' ? `CUDA (${process.env.FVC_DIST_BACKEND === 'gloo' ? 'Gloo' : 'NCCL'})` : 'CPU'}`,
  '',
  `Command: \`BENCH_ROUNDS=${ROUNDS} BENCH_EPOCHS=${EPOCHS} BENCH_THREADS=${THREADS}${DEVICE === 'cuda' ? ' BENCH_DEVICE=cuda' : ''} npm run bench:distributed\`; peer: PyTorch ${torchVersion} DistributedDataParallel. One rank uses ${THREADS} threads; each of two ranks ${Math.max(1, Math.floor(THREADS / 2))}. Same global batch. Medians over ${ROUNDS} rounds of ${EPOCHS - 1} timed epochs.`,
  '',
  '| model | global batch | fvc 1 rank s/step | fvc 2 ranks s/step | fvc scaling efficiency | PyTorch 1 process s/step | PyTorch DDP 2 ranks s/step | PyTorch scaling efficiency |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
writeFileSync(join(resultsDir(), `distributed-${date}.md`), out);
process.stdout.write(out);
