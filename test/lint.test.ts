/**
 * Static habits (issue 22, item 12), checked where CI runs: ESLint and Prettier on the
 * TypeScript and scripts, clang-format on the C++ (npm run lint runs the same three;
 * npm run format fixes what it can), and a native build without compiler warnings
 * (-Wall -Wextra on every target).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers.js';

const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });

test('eslint: no problems', () => {
  const r = run(bin('eslint'), ['.']);
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`.slice(-6000));
});

test('prettier --check: TypeScript and scripts are formatted', () => {
  const r = run(bin('prettier'), ['--check', '.']);
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`.slice(-6000));
});

test('clang-format --dry-run --Werror: C++ is formatted (.clang-format)', () => {
  const sources = run('find', [join(root, 'cpp'), '-name', '*.cpp', '-o', '-name', '*.h'])
    .stdout.trim()
    .split('\n');
  assert.ok(sources.length > 50, `${sources.length} C++ files`);
  const r = run('clang-format', ['--dry-run', '--Werror', ...sources]);
  assert.is(r.error, undefined, 'clang-format is installed (scripts/setup.sh --test)');
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`.slice(-6000));
});

test('the native build of this checkout logged no compiler warnings (build.log, written by scripts/setup.sh)', () => {
  const log = join(root, 'build.log');
  if (!existsSync(log)) return; // built by hand, not through setup.sh
  const warnings = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => /\bwarning:/.test(l));
  assert.equal(warnings, []);
});

test.run();
