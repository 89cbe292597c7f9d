/**
 * The README's API reference example type-checks against the real API, so the
 * documentation cannot drift from the exports (it is compiled, not run).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { artifacts, root } from './helpers.js';

test('the API reference example in README.md compiles against ts/index.ts', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## API reference'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'an example in the API reference');
  const dir = join(artifacts, 'readme');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'example.ts'), `${code}\nexport {};\n`);
  const tsconfig = {
    extends: join(root, 'tsconfig.json'),
    compilerOptions: { noEmit: true, incremental: false, rootDir: root, baseUrl: root, paths: { fvc: ['ts/index.ts'] }, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] },
    files: [join(dir, 'example.ts')],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, r.stdout);
});

test.run();
