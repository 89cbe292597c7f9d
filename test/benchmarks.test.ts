/**
 * Every benchmark script runs once at its smallest size (BENCH_SMOKE=1, one repeat, a
 * few videos), with its Python peer, results to a temporary folder: a script that rots
 * (an API it calls changed, a peer that breaks on this PyTorch) fails here, not on the
 * first GPU session that needs it. Nothing here is a measurement.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { artifacts, root } from './helpers.js';

const dir = join(artifacts, 'benchmarks');
const results = join(dir, 'results');

const RUNS: Array<[string, Record<string, string>]> = [
  ['decode', { BENCH_REPEATS: '1' }],
  ['stage2', { BENCH_REPEATS: '1', BENCH_CLIPS: '1' }],
  ['xgboost', { BENCH_REPEATS: '1' }],
  ['deep', { BENCH_STEPS: '1', BENCH_ROUNDS: '1', BENCH_MODELS: 'r2plus1d_18', BENCH_THREADS: '2' }],
  ['extract', { BENCH_VIDEOS: '1', BENCH_REPEATS: '1', BENCH_FOLDS: '1', BENCH_BATCH: '1', BENCH_THREADS: '2' }],
  ['distributed', { BENCH_ROUNDS: '1', BENCH_THREADS: '2' }],
  ['models', { BENCH_MODELS: 'logistic_regression', BENCH_STRENGTHS: '1', BENCH_VIDEOS: '16', BENCH_EPOCHS: '1' }],
];

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(results, { recursive: true });
});

for (const [name, env] of RUNS)
  test(`bench:${name} runs at its smallest size and writes its table`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'benchmarks', `${name}.ts`)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 1 << 26,
      env: { ...process.env, ...env, BENCH_SMOKE: '1', BENCH_RESULTS_DIR: results, BENCH_WORK_DIR: join(dir, 'work') },
    });
    assert.is(r.status, 0, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
    const file = readdirSync(results).find((f) => f.startsWith(`${name}-`) && f.endsWith('.md'));
    assert.ok(file, `benchmarks/${name}.ts wrote no table to ${results}`);
    assert.match(readFileSync(join(results, file as string), 'utf8'), /^\|.*\|$/m, 'a results table');
  });

test.run();
