/**
 * Runs every test/*.test.ts with uvu in one process and ends with the line
 * `N passed, N failed` that CI reads. `node --import tsx test/run.ts corpus stats`
 * runs only files whose name contains "corpus" or "stats"; `--quick` (npm run test:quick) leaves
 * out the slow tier (deep training, SLURM, packaging, the torch and sanitizer builds), for the edit loop.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// The CLI assertions run bin/fvc.js, which runs dist/: an edit in ts/ reaches them only
// once compiled, so a dist/ older than its sources is rebuilt first (the edit loop).
const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
// tsc is incremental: it rewrites only what changed, so its build info is the stamp.
const built = join(here, '..', 'dist', '.tsbuildinfo');
if (!existsSync(built) || newest(join(here, '..', 'ts')) > statSync(built).mtimeMs) {
  console.log('test: ts/ is newer than dist/: compiling it first');
  execFileSync(process.execPath, [join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(here, '..', 'tsconfig.json')], { stdio: 'inherit' });
  const now = new Date();
  utimesSync(built, now, now);
}
// Caches a test does not place itself go under test-artifacts/, never into the source tree's data/.
process.env.FVC_FRAME_CACHE_DIR ??= join(here, '..', 'test-artifacts', 'default-frame-cache');
process.env.FVC_FEATURES_DIR ??= join(here, '..', 'test-artifacts', 'default-features');
// Minutes each on CI's 2 cores: npm test runs them, the edit loop need not.
const SLOW = ['benchmarks', 'deep-models', 'deep-train', 'demo', 'distributed', 'extract', 'package', 'pretrained', 'sanitize', 'slurm', 'torch-only', 'transformers'];
const quick = process.argv.includes('--quick');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts') && (!filters.length || filters.some((x) => f.includes(x))))
  .filter((f) => !quick || !SLOW.some((s) => f.startsWith(`${s}.test`)))
  .sort();

let captured = '';
const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (captured.length > 200_000) captured = captured.slice(-100_000);
  return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const g = globalThis as unknown as { UVU_DEFER: number; UVU_INDEX: number; UVU_QUEUE: unknown[][] };
g.UVU_DEFER = 1;
const uvu = await import('uvu');
g.UVU_QUEUE ??= [];
let index = 0;
for (const file of files) {
  g.UVU_INDEX = index++;
  g.UVU_QUEUE.push([file]);
  await import(pathToFileURL(join(here, file)).href);
}
await uvu.exec(false);
process.stdout.write = realWrite;

// Strip colour codes, then read uvu's own totals.
// eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
const failed = Math.max(0, total - passed - skipped);
if (files.length === 0) {
  console.log('no test files matched');
  process.exitCode = 1;
}
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) process.exitCode = 1;
