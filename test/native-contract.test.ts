/**
 * What the TypeScript side and the native core must agree on, checked rather than
 * kept in step by hand (issue 34): the error codes, and the deep training request's
 * options (names, types, defaults, ranges) and the flags made from them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_CODES, NATIVE_ERROR_CODES } from '../ts/errors.js';
import { native } from '../ts/native/binding.js';
import { deepTrainFieldList } from '../ts/native/deep-train-fields.js';
import { resolveConfig, TrainConfigSchema } from '../ts/train/config.js';
import { root } from './helpers.js';

const src = join(root, 'ts');
function tsFiles(d = src): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test("error codes: the native core's (cpp/common/error.h) are exactly errors.ts's native list, and every code the TypeScript names is a known one", () => {
  const header = readFileSync(join(root, 'cpp', 'common', 'error.h'), 'utf8');
  const native = [...header.matchAll(/inline constexpr const char\* k\w+ = "(ERR_[A-Z_]+)";/g)].map((m) => m[1]);
  assert.equal([...native].sort(), [...NATIVE_ERROR_CODES].sort());
  const used = new Set<string>();
  for (const f of tsFiles()) for (const m of readFileSync(f, 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)) used.add(m[1] as string);
  const unknown = [...used].filter((c) => !(ERROR_CODES as readonly string[]).includes(c));
  assert.equal(unknown, [], `codes named in ts/ but not in ERROR_CODES: ${unknown.join(', ')}`);
  // And nothing thrown natively escapes the list: any "ERR_" literal in cpp/ is in error.h.
  const literals =
    execFileSync('grep', ['-rhoE', '"ERR_[A-Z_]+"', join(root, 'cpp')])
      .toString()
      .match(/ERR_[A-Z_]+/g) ?? [];
  assert.equal(
    [...new Set(literals)].filter((c) => !native.includes(c)),
    [],
  );
});

test("the deep training request's options are declared alike on both sides: name, type, default and range (cpp/torch/deep.h's table and ts/native/deep-train-fields.ts)", () => {
  const nativeFields = native.deepTrainFields();
  assert.ok(nativeFields.length >= 14);
  assert.equal(
    nativeFields.map((f) => f.name),
    deepTrainFieldList().map((f) => f.name),
  );
  assert.equal(nativeFields, deepTrainFieldList());
});

test("the run configuration's deep block has each declared default, refuses values outside the declared range, naming the field, and the native core refuses them too", async () => {
  const deep = TrainConfigSchema.parse({ models: ['naive_cnn'] }).deep as unknown as Record<string, unknown>;
  for (const f of deepTrainFieldList()) {
    // Optional ones (microBatch) and those added after the first release (labelSmoothing) are absent until set.
    assert.is(deep[f.name] ?? f.default, f.default, f.name);
    if (f.type === 'bool') continue;
    const below = f.type === 'int' ? f.min - 1 : f.min === 0 ? -1e-9 : f.min / 2;
    assert.throws(
      () => resolveConfig({ models: ['naive_cnn'], deep: { [f.name]: below } }),
      (e: Error) => e.message.includes(f.name),
      `${f.name} ${below}`,
    );
    assert.throws(
      () => resolveConfig({ models: ['naive_cnn'], deep: { [f.name]: f.max * 2 } }),
      (e: Error) => e.message.includes(f.name),
      f.name,
    );
    const err = await native
      .trainDeep({ model: 'naive_cnn', train: [{ npy: '/nonexistent/a.npy', label: 0 }], val: [{ npy: '/nonexistent/b.npy', label: 1 }], outDir: '/nonexistent', [f.name]: below })
      .then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
    assert.is(err?.code, 'ERR_INVALID_ARGUMENT', f.name);
    assert.ok(err?.message.startsWith(`${f.name}:`), err?.message);
  }
});

test('fvc train has a flag for every declared option, with its range', () => {
  const help = execFileSync(process.execPath, [join(root, 'bin', 'fvc.js'), 'train', '--help']).toString();
  for (const f of deepTrainFieldList()) {
    const flag = f.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    assert.ok(help.includes(f.type === 'bool' && f.default ? `--no-${flag}` : `--${flag}`), flag);
  }
  const bad = spawnSync(process.execPath, [join(root, 'bin', 'fvc.js'), 'train', '--models', 'naive_cnn', '--layer-decay', '2']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr.toString(), /--layer-decay <x>' argument '2' is invalid\. expected a number from 0\.000001 to 1/);
});

test.run();
