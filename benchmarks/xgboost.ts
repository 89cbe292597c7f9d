/**
 * XGBoost through fvc's native C API binding against Debian's python3-xgboost, same
 * data and parameters (the seed's: 100 rounds, depth 5, eta 0.1, subsample and
 * colsample 0.8, hist), in one run; then fvc's per-video inference latency on a
 * 36-feature vector (the Stage 2 schema), decoding excluded.
 *
 *   npm run bench:xgboost       (writes benchmarks/results/xgboost-<date>.md)
 */
import { resultsDir, smoke, workDir } from './env.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../ts/native/binding.js';
import { Rng } from '../ts/util/rng.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('xgboost');
mkdirSync(work, { recursive: true });
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const threads = availableParallelism();
const COLS = 36;

function npy(path: string, data: Float64Array, rows: number, cols: number): void {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h.writeUInt8(1, 6);
  h.writeUInt8(0, 7);
  h.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

const rows: string[] = [];
let latencyLine = '';
for (const n of smoke ? [2000] : [2000, 20000]) {
  const rng = new Rng(n);
  const x = new Float64Array(n * COLS);
  const y = new Float64Array(n);
  const withLabel = new Float64Array(n * (COLS + 1));
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    for (let j = 0; j < COLS; j++) {
      const v = rng.next() + (j < 6 ? 0.3 * (y[i] as number) * rng.next() : 0);
      x[i * COLS + j] = v;
      withLabel[i * (COLS + 1) + j] = v;
    }
    withLabel[i * (COLS + 1) + COLS] = y[i] as number;
  }
  const params = { objective: 'binary:logistic', tree_method: 'hist', max_depth: 5, eta: 0.1, subsample: 0.8, colsample_bytree: 0.8, seed: 1, nthread: threads, num_boost_round: 100 };
  const model = join(work, `model-${n}.json`);
  await native.fitModel({ kind: 'xgboost', output: model, params, x, y, rows: n, cols: COLS }); // warm-up
  const fvc: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    await native.fitModel({ kind: 'xgboost', output: model, params, x, y, rows: n, cols: COLS });
    fvc.push((performance.now() - t) / 1000);
  }
  const dataPath = join(work, `data-${n}.npy`);
  npy(dataPath, withLabel, n, COLS + 1);
  const paramsPath = join(work, 'params.json');
  writeFileSync(paramsPath, JSON.stringify(params));
  const py = JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'xgboost_python.py'), dataPath, paramsPath, String(REPEATS)]).toString()) as {
    seconds: number[];
    version: string;
    first_probs: number[];
  };
  const ours = await native.predictModel({ kind: 'xgboost', model, x: x.subarray(0, 5 * COLS), rows: 5, cols: COLS });
  const same = py.first_probs.every((p, i) => Math.abs(p - (ours[i] as number)) < 1e-6);
  rows.push(
    `| ${n} x ${COLS} | ${median(fvc).toFixed(3)} | ${median(py.seconds).toFixed(3)} | ${(median(py.seconds) / median(fvc)).toFixed(2)}x | ${same ? 'yes' : 'no'} (python3-xgboost ${py.version}) |`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);
  if (n === 2000) {
    const one = x.subarray(0, COLS);
    const lat: number[] = [];
    for (let r = 0; r < 200; r++) {
      const t = performance.now();
      await native.predictModel({ kind: 'xgboost', model, x: one, rows: 1, cols: COLS, threads: 1 });
      lat.push(performance.now() - t);
    }
    latencyLine = `Per-video inference (one 36-feature vector through the promise API, booster cached after the first call, decoding excluded): median ${median(lat).toFixed(2)} ms over 200 calls.`;
  }
}

const date = new Date().toISOString().slice(0, 10);
const report = `### ${date} — ${threads} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB

Command: \`npm run bench:xgboost\` (BENCH_REPEATS=${REPEATS}); training time medians, ${threads} threads both.

| data | fvc s | python3-xgboost s | python / fvc | same predictions |
|---|---|---|---|---|
${rows.join('\n')}

${latencyLine}
`;
writeFileSync(join(resultsDir(), `xgboost-${date}.md`), report);
process.stdout.write(report);
