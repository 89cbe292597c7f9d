/**
 * What every benchmark reads besides its own size knobs: where its results and work
 * files go, and the smoke mode the test suite runs each script in (BENCH_SMOKE=1: the
 * smallest sizes and one repeat, to prove the script and its Python peer still run
 * before a GPU session needs them — never a measurement).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const smoke = process.env.BENCH_SMOKE === '1';

/** Result tables: benchmarks/results unless BENCH_RESULTS_DIR says otherwise. */
export function resultsDir(): string {
  const dir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Generated clips and scratch: benchmarks/.work unless BENCH_WORK_DIR says otherwise. */
export function workDir(...parts: string[]): string {
  const dir = join(process.env.BENCH_WORK_DIR ?? join(here, '.work'), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
