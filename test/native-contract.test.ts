/**
 * What the TypeScript side and the native core must agree on, checked rather than
 * kept in step by hand (issue 34): the error codes, and the deep training request's
 * defaults.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_CODES, NATIVE_ERROR_CODES } from '../ts/errors.js';
import { native } from '../ts/native/binding.js';
import { TrainConfigSchema } from '../ts/train/config.js';
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

test("the native training request's defaults are the run configuration's (one default per option, not two that drift)", () => {
  const deep = TrainConfigSchema.parse({ models: ['naive_cnn'] }).deep as unknown as Record<string, unknown>;
  const nativeDefaults = native.deepTrainDefaults();
  assert.ok(Object.keys(nativeDefaults).length >= 10);
  for (const [key, value] of Object.entries(nativeDefaults)) assert.is(deep[key], value, `deep.${key}: ${String(deep[key])} in ts/train/config.ts, ${String(value)} in cpp/torch/deep.h`);
});

test.run();
