/**
 * The stacking ensemble (`stack:a+b`): its logistic regression is fitted only on
 * nested out-of-fold predictions of each fold's training videos. Checked three ways:
 * the rows it was fitted on are exactly the fold's training videos (never a
 * validation one); a member that memorises the labels of the videos it trains on
 * gets no weight, as it would were the stacker fitted on predictions for videos a
 * member had seen; and scikit-learn's LogisticRegression(C=1) fitted on the saved rows
 * gives the same coefficients.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registerModel, train, type Stage5Model } from '../ts/index.js';
import { featureModel } from '../ts/train/implementations/feature-model.js';
import { parseCsv } from '../ts/util/csv.js';
import { Rng } from '../ts/util/rng.js';
import { artifacts } from './helpers.js';

declare module '../ts/train/registry.js' {
  interface CustomModels {
    memoriser: true;
  }
}

const dir = join(artifacts, 'stacking');
const table = join(dir, 'features.csv');

/**
 * P(fake) = the label of a video it trained on, 0.5 for any other: useless on videos
 * it has not seen, perfect on those it has. Data, settings and prediction are the
 * feature models'.
 */
const memoriser: Stage5Model = {
  ...(featureModel as Stage5Model),
  fit: async ({ data, fold, dir: out }) => {
    const seen = new Map(fold.train.map((i) => [data.ids[i] as string, data.labels[i] as number]));
    writeFileSync(join(out, 'memory.json'), JSON.stringify(Object.fromEntries(seen)));
    const probs = Float64Array.from(fold.val, (i) => {
      const label = seen.get(data.ids[i] as string);
      return label === undefined ? 0.5 : 0.02 + 0.96 * label;
    });
    return { kind: 'memoriser', file: 'memory.json', probs, nativeParams: {} };
  },
};

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(11);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const lines = ['id,group,label,a,b,c'];
  for (let i = 0; i < 90; i++) {
    const y = i % 2;
    lines.push([`v${i}`, `g${Math.floor(i / 3)}`, y, gauss() + 1.0 * y, gauss() + 0.5 * y, gauss()].join(','));
  }
  writeFileSync(table, `${lines.join('\n')}\n`);
  registerModel({ id: 'xmem', name: 'memoriser', family: 'linear', inputs: ['handcrafted_features'], impl: memoriser, grid: {} });
});

test('stack: the stacker is fitted on nested out-of-fold predictions of the training videos only; a memorising member gets no weight; scikit-learn agrees', async () => {
  const out = join(dir, 'stage5');
  const base = { features: { path: table, labelColumn: 'label', groupColumn: 'group', idColumn: 'id' }, outputDir: out, nSplits: 3, seed: 4, quiet: true, plots: false, tracking: false } as const;
  const r = await train({ ...base, models: ['logistic_regression', 'svm', 'memoriser', 'stack:logistic_regression+svm+memoriser'] });
  assert.equal(r.failed, []);
  const stack = join(out, 'stack_logistic_regression+svm+memoriser');
  for (const fold of [1, 2, 3]) {
    const val = new Set(parseCsv(readFileSync(join(stack, `fold_${fold}`, 'predictions.csv'), 'utf8')).map((row) => row.video_id));
    const rows = parseCsv(readFileSync(join(stack, `fold_${fold}`, 'stacker_training.csv'), 'utf8'));
    assert.is(rows.length + val.size, 90, `fold ${fold}: every training video once`);
    assert.not.ok(
      rows.some((row) => val.has(row.video_id)),
      `fold ${fold}: no validation video in the stacker's rows`,
    );
    assert.is(new Set(rows.map((row) => row.inner_fold)).size, 3);
    // Out of fold: the memoriser never saw the videos it predicted for the stacker.
    assert.ok(
      rows.every((row) => row.memoriser === '0.5'),
      `fold ${fold}: the memoriser predicted a video it had trained on`,
    );
    const { stacker } = JSON.parse(readFileSync(join(stack, `fold_${fold}`, 'ensemble.json'), 'utf8')) as { stacker: { coef: number[]; intercept: number } };
    assert.is(stacker.coef[2], 0, 'no weight on the memoriser');
    const script = `
import sys, json, numpy as np
from sklearn.linear_model import LogisticRegression
d = np.genfromtxt(sys.argv[1], delimiter=',', skip_header=1, usecols=(2, 3, 4, 5))
p = np.clip(d[:, 1:], 1e-6, 1 - 1e-6)
m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(np.log(p / (1 - p)), d[:, 0])
print(json.dumps({'coef': m.coef_[0].tolist(), 'intercept': float(m.intercept_[0])}))`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, join(stack, `fold_${fold}`, 'stacker_training.csv')]).toString()) as { coef: number[]; intercept: number };
    const diff = Math.max(...ref.coef.map((c, j) => Math.abs(c - (stacker.coef[j] as number))), Math.abs(ref.intercept - stacker.intercept));
    assert.ok(diff < 1e-4, `fold ${fold}: fvc ${JSON.stringify(stacker)} vs scikit-learn ${JSON.stringify(ref)}`);
    // The fold's validation probabilities are the stacker applied to the members' own fold predictions.
    const member = (m: string) => new Map(parseCsv(readFileSync(join(out, m, `fold_${fold}`, 'predictions.csv'), 'utf8')).map((row) => [row.video_id, Number(row.prob)]));
    const [lr, svm] = [member('logistic_regression'), member('svm')];
    const logit = (p: number) => Math.log(Math.min(1 - 1e-6, Math.max(1e-6, p)) / (1 - Math.min(1 - 1e-6, Math.max(1e-6, p))));
    for (const row of parseCsv(readFileSync(join(stack, `fold_${fold}`, 'predictions.csv'), 'utf8'))) {
      const z = stacker.intercept + (stacker.coef[0] as number) * logit(lr.get(row.video_id) as number) + (stacker.coef[1] as number) * logit(svm.get(row.video_id) as number);
      assert.ok(Math.abs(Number(row.prob) - 1 / (1 + Math.exp(-z))) < 1e-9, row.video_id);
    }
  }
  const summary = r.models.find((m) => m.modelType === 'stack_logistic_regression+svm+memoriser');
  assert.ok((summary?.mean.val_auc ?? 0) > 0.7, `stacked AUC ${summary?.mean.val_auc}`);
});

test.run();
