/**
 * The whole project type-checks, tests and benchmarks included (tsconfig.check.json),
 * so a test that passes a misspelt model name or a removed option fails here, not at
 * a user's desk. `npm run typecheck` runs the same.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers.js';

test('tsc -p tsconfig.check.json: ts/, test/ and benchmarks/ type-check', () => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.check.json')], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
});

test.run();
