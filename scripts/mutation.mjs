#!/usr/bin/env node
// Mutation testing with StrykerJS (npm run test:mutation): each group's source files are
// mutated and the quick test files that guard them are run against every mutant (the
// command runner: one test command per mutant, mutants switched on by Stryker's
// environment variable, so the compiled dist/ carries them too). Slow (minutes per
// hundred mutants): not part of npm test. README "Tests" records the scores.
//
//   node scripts/mutation.mjs [group...] [--mutate 'ts/evaluation/metrics.ts'] [--tests metrics]
//
// --mutate and --tests narrow one group to a file and the test files that guard it (a run
// of the whole train group takes hours: its test files train models).
// Groups: train, stages, cache. Reports go to test-artifacts/mutation/<group>.json.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = {
  train: { mutate: ['ts/train/**/*.ts'], tests: ['train.test', 'stacking', 'study'] },
  evaluation: { mutate: ['ts/evaluation/**/*.ts'], tests: ['metrics', 'stats', 'report', 'study'] },
  stages: { mutate: ['ts/stages/**/*.ts'], tests: ['stages', 'stage1', 'stage3', 'output-safety'] },
  cache: { mutate: ['ts/cache/**/*.ts'], tests: ['frame-cache'] },
};
const args = process.argv.slice(2);
const flag = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = flag('--mutate');
const tests = flag('--tests')?.split(',');
const names = args.filter((a, i) => !a.startsWith('--') && !['--mutate', '--tests'].includes(args[i - 1] ?? ''));
const out = join(root, 'test-artifacts', 'mutation');
mkdirSync(out, { recursive: true });
let status = 0;
for (const name of names.length ? names : Object.keys(GROUPS)) {
  const g = GROUPS[name];
  if (!g) throw new Error(`unknown group ${name} (known: ${Object.keys(GROUPS).join(', ')})`);
  const config = join(out, `${name}.config.json`);
  writeFileSync(
    config,
    JSON.stringify(
      {
        testRunner: 'command',
        commandRunner: { command: `node --import tsx test/run.ts ${(tests ?? g.tests).join(' ')}` },
        mutate: only ? [only] : g.mutate,
        // The tests need the native build, Python references and test-artifacts/ in place.
        inPlace: true,
        concurrency: 1,
        coverageAnalysis: 'off',
        timeoutMS: 30_000,
        reporters: ['clear-text', 'progress', 'json'],
        jsonReporter: { fileName: join(out, `${name}.json`) },
        tempDirName: join('test-artifacts', 'mutation', '.stryker-tmp'),
      },
      null,
      2,
    ),
  );
  const r = spawnSync(process.execPath, [join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run', config], { cwd: root, stdio: 'inherit' });
  status ||= r.status ?? 1;
  // Stryker's in-place restore writes files back without their mode bits.
  chmodSync(join(root, 'bin', 'fvc.js'), 0o755);
}
process.exit(status);
