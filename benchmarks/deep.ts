/**
 * Deep-model training throughput: one optimiser step (forward, backward, clipping,
 * AdamW) for r2plus1d_18, x3d_s and slowfast_r50 at their standard input sizes,
 * fvc's native trainer against Debian's python3-torch running the same architecture
 * (benchmarks/deep_python.py) with the same threads, in one run. fvc's steps read
 * their clips from frame-cache-shaped .npy files through its prefetching loader
 * (so the data-wait fraction is measured); Python's use one in-memory batch, which
 * favours Python. Each run is its own child process so peak RSS is its own. fvc
 * also runs with each of its own CPU parts switched off in turn, so the table shows
 * what each is worth: FVC_CPU_CACHE_MB=0 (LibTorch's own allocator, as Python has
 * it) and, for X3D, FVC_NATIVE_DEPTHWISE=0 (LibTorch's depthwise convolution). The
 * runs alternate for BENCH_ROUNDS rounds and each cell is a median over every timed
 * step (fvc: epochs after the first), because these machines are shared and noisy.
 *
 *   npm run bench:deep       (writes benchmarks/results/deep-<date>.md)
 *   BENCH_STEPS=3 BENCH_ROUNDS=1 BENCH_THREADS=2 BENCH_MODELS=x3d_s npm run bench:deep
 */
import { resultsDir, smoke, workDir } from './env.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { samplingFor } from '../ts/deep/presets.js';
import { trainDeepFold } from '../ts/deep/train.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('deep');
const STEPS = Number(process.env.BENCH_STEPS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const EPOCHS = smoke ? 2 : 3;
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
// fvc's own CPU parts, each switched off in one more fvc run (for the models listed, or all).
const VARIANTS: { label: string; env: NodeJS.ProcessEnv; models?: string[] }[] = [
  { label: "LibTorch's allocator", env: { FVC_CPU_CACHE_MB: '0' } },
  { label: "LibTorch's depthwise convolution", env: { FVC_NATIVE_DEPTHWISE: '0' }, models: ['x3d_s'] },
  // Not a CPU part but the transformers' memory option: its cell adds the peak RSS it gives.
  { label: 'gradient checkpointing', env: { BENCH_CHECKPOINT: '1' }, models: ['vit_gru_s16', 'timesformer_ti16', 'vit_gru'] },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// Standard inputs, each architecture's preset from the native registry (r2plus1d_18 16x112, X3D-S 13x160, SlowFast R50 32 fast frames at 224).
const MODELS = await Promise.all(
  [
    { name: 'r2plus1d_18', batch: 4 },
    { name: 'x3d_s', batch: 4 },
    { name: 'slowfast_r50', batch: 2 },
    // The transformers (issue 19): vit_gru on ViT-S/16 and TimeSformer on ViT-Ti/16, 8 frames at 224.
    { name: 'vit_gru_s16', batch: 2 },
    { name: 'timesformer_ti16', batch: 2 },
    // ViT-B/16 at the seed's 8 frames, for its memory with and without gradient checkpointing; only when BENCH_MODELS names it.
    { name: 'vit_gru', batch: 1, optIn: true },
  ]
    .filter((m) => (process.env.BENCH_MODELS ? process.env.BENCH_MODELS.split(',').includes(m.name) : !m.optIn))
    .map(async (m) => {
      const s = await samplingFor(m.name, {});
      return { ...m, ...(smoke ? { batch: 1 } : {}), frames: s.numFrames, size: s.cropSize };
    }),
);

/** A frame-cache entry: uint8 [N, S, S, 3] with a numpy header. */
function clip(path: string, frames: number, size: number, seed: number): void {
  execFileSync('/usr/bin/python3', [
    '-c',
    'import sys, numpy as np; n, s, k = map(int, sys.argv[2:5]); np.save(sys.argv[1], np.random.default_rng(k).integers(0, 255, (n, s, s, 3), dtype=np.uint8))',
    path,
    String(frames),
    String(size),
    String(seed),
  ]);
}

async function child(name: string): Promise<void> {
  const m = MODELS.find((x) => x.name === name);
  if (!m) throw new Error(`unknown model ${name}`);
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const train = Array.from({ length: m.batch * STEPS }, (_, i) => ({ npy: join(dir, `clip${i}.npy`), label: i % 2 }));
  train.forEach((c, i) => clip(c.npy, m.frames, m.size, i));
  // The first epoch warms up (allocator, first touch); the rest are timed. One validation clip keeps evaluation small.
  const r = await trainDeepFold({
    architecture: name,
    train,
    val: train.slice(0, 1),
    outDir: join(dir, 'out'),
    options: {
      numFrames: m.frames,
      cropSize: m.size,
      frameSize: m.size,
      epochs: EPOCHS,
      batchSize: m.batch,
      lrHead: 5e-4,
      lrBackbone: 5e-6,
      weightDecay: 1e-4,
      warmupEpochs: 0,
      maxGradNorm: 1,
      patience: 5,
      classWeights: true,
      augment: true,
      scale: {},
      loaderThreads: 2,
      gradientCheckpointing: process.env.BENCH_CHECKPOINT === '1',
    },
    seed: 0,
    threads: THREADS,
    device: 'cpu',
    resume: false,
  });
  const timed = r.epochs.slice(1);
  process.stdout.write(
    JSON.stringify({
      stepSeconds: timed.map((e) => e.train_seconds / STEPS),
      dataWait: median(timed.map((e) => e.data_wait)),
      parameters: r.parameters,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const rows: string[] = [];
  for (const m of MODELS) {
    type Fvc = { stepSeconds: number[]; dataWait: number; parameters: number; maxRssMiB: number };
    type Py = { step_seconds: number[]; parameters: number; max_rss_mib: number; torch: string };
    const runFvc = (env: NodeJS.ProcessEnv) =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', m.name], { maxBuffer: 1 << 20, env: { ...process.env, ...env } }).toString()) as Fvc;
    const runPy = () =>
      JSON.parse(
        execFileSync('/usr/bin/python3', [join(here, 'deep_python.py'), m.name, String(m.frames), String(m.size), String(m.batch), String(STEPS), String(THREADS)], { maxBuffer: 1 << 20 }).toString(),
      ) as Py;
    const variants = VARIANTS.map((v) => ({ ...v, runs: [] as Fvc[] }));
    const fvc: Fvc[] = [],
      py: Py[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      fvc.push(runFvc({}));
      py.push(runPy());
      for (const v of variants) if (!v.models || v.models.includes(m.name)) v.runs.push(runFvc(v.env));
    }
    const stepOf = (runs: Fvc[]) => median(runs.flatMap((r) => r.stepSeconds));
    const step = stepOf(fvc),
      pyStep = median(py.flatMap((r) => r.step_seconds));
    const rss = (xs: number[]) => Math.max(...xs).toFixed(0);
    const params = fvc[0]?.parameters === py[0]?.parameters ? 'yes' : `no (${fvc[0]?.parameters} vs ${py[0]?.parameters})`;
    rows.push(
      `| ${m.name} | ${m.batch} x [3, ${m.frames}, ${m.size}, ${m.size}] | ${step.toFixed(2)} | ${(m.batch / step).toFixed(2)} | ${pyStep.toFixed(2)} | ${(m.batch / pyStep).toFixed(2)} | **${(step / pyStep).toFixed(2)}** | ${variants.map((v) => (v.runs.length ? `${(stepOf(v.runs) / pyStep).toFixed(2)}${v.env.BENCH_CHECKPOINT ? ` (${rss(v.runs.map((r) => r.maxRssMiB))} MiB)` : ''}` : '—')).join(' | ')} | ${(median(fvc.map((r) => r.dataWait)) * 100).toFixed(1)}% | ${rss(fvc.map((r) => r.maxRssMiB))} / ${rss(py.map((r) => r.max_rss_mib))} | ${params} |`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  const date = new Date().toISOString().slice(0, 10);
  const torchVersion = execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)']).toString().trim();
  const out = [
    `### ${date} — ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${THREADS} threads, CPU`,
    '',
    `Command: \`BENCH_STEPS=${STEPS} BENCH_ROUNDS=${ROUNDS} BENCH_THREADS=${THREADS}${process.env.BENCH_MODELS ? ` BENCH_MODELS=${process.env.BENCH_MODELS}` : ''} npm run bench:deep\`; Python peer: python3-torch ${torchVersion}. Medians over ${ROUNDS} alternating rounds of ${STEPS} timed steps (fvc: ${EPOCHS - 1} epochs of ${STEPS}).`,
    '',
    `| model | batch | fvc s/step | fvc clips/s | PyTorch s/step | PyTorch clips/s | fvc / PyTorch time | ${VARIANTS.map((v) => `same, fvc with ${v.label}`).join(' | ')} | fvc data wait | peak RSS MiB fvc / PyTorch | same parameter count |`,
    `|${'---|'.repeat(VARIANTS.length + 10)}`,
    ...rows,
    '',
  ].join('\n');
  writeFileSync(join(resultsDir(), `deep-${date}.md`), out);
  process.stdout.write(out);
}

if (process.argv[2] === '--child') await child(process.argv[3] as string);
else await main();
