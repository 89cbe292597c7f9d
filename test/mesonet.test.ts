/**
 * MesoNet (issue 32): Meso-4 and MesoInception-4 as the authors built them, checked against
 * an independent PyTorch implementation of their Keras code (test/mesonet_reference.py):
 * the parameter counts of their paper's code and the eval-mode logits of the same weights.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeDeepModels, modelLogits } from '../ts/deep/architectures.js';
import { artifacts, npyValues, root } from './helpers.js';

const dir = join(artifacts, 'mesonet');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'mesonet_reference.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
});

test("trainable parameters are the authors' (27,977 and 28,615 at one output; 27,994 and 28,632 at two classes); the input is 256 px scaled to [0, 1]", async () => {
  const one = await describeDeepModels({ models: ['meso4', 'meso_inception4'], numClasses: 1, threads: 2 });
  assert.equal(Object.fromEntries(one.map((m) => [m.name, m.parameters])), { meso4: 27_977, meso_inception4: 28_615 });
  const two = await describeDeepModels({ models: ['meso4', 'meso_inception4'], threads: 2 });
  assert.equal(Object.fromEntries(two.map((m) => [m.name, m.parameters])), { meso4: 27_994, meso_inception4: 28_632 });
  for (const m of two) {
    assert.equal(m.inputShape, [3, 8, 256, 256], m.name);
    assert.equal(
      [m.preset.mean, m.preset.std],
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
    );
  }
});

test('the same weights give the PyTorch reference’s logits (eval mode, per frame, features averaged over 3 frames, within 1e-4)', async () => {
  for (const model of ['meso4', 'meso_inception4']) {
    const r = await modelLogits({ model, input: join(dir, 'clip.npy'), weights: join(dir, `${model}.pth`), threads: 2 });
    const want = npyValues(join(dir, `${model}_logits.npy`));
    assert.equal(r.shape, [2, 2]);
    const d = r.rows.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - (want[i] as number))), 0);
    assert.ok(d < 1e-4, `${model}: max |fvc - reference| = ${d}`);
  }
});

test.run();
