import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, runFeatureStage } from '../ts/index.js';
import { native } from '../ts/native/binding.js';
import { xgboostDevice } from '../ts/train/classical.js';
import { train } from '../ts/train/engine.js';
import { loadModel } from '../ts/train/predict.js';
import { computeMetrics, youdenThreshold } from '../ts/evaluation/metrics.js';
import { parseCsv } from '../ts/util/csv.js';
import type { ModelRequest } from '../ts/train/registry.js';
import type { TrainEvent } from '../ts/train/events.js';
import type { FvcError } from '../ts/errors.js';
import { Rng } from '../ts/util/rng.js';
import { readTable, writeParquet } from '../ts/data/table.js';
import { artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'train');
const table = join(dir, 'features.csv');
const out = join(dir, 'stage5');
const quiet = { quiet: true, plots: false } as const;
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** 160 rows in pairs sharing a group; two informative features, three noise. */
function writeTable(path: string, mutate?: (cells: string[], i: number) => void): void {
  const rng = new Rng(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const lines = ['id,group,label,a,b,c,d,e,comment'];
  for (let i = 0; i < 160; i++) {
    const y = rng.next() < 0.45 ? 1 : 0;
    const cells = [`v${i}`, `g${Math.floor(i / 2)}`, String(y), String(gauss() + 1.2 * y), String(gauss() + 0.6 * y), String(gauss()), String(gauss()), String(gauss()), 'text'];
    mutate?.(cells, i);
    lines.push(cells.join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const features = (path = table) => ({ path, labelColumn: 'label', groupColumn: 'group', idColumn: 'id' });

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeTable(table);
});

test('train writes the seed layout for 5a, 5b and 5beta, with grid search and best models', async () => {
  const r = await train({ models: ['logistic_regression', 'svm', 'xgboost'], features: features(), outputDir: out, nSplits: 5, seed: 7, ...quiet });
  assert.equal(r.failed, []);
  assert.equal(
    r.models.map((m) => m.modelType),
    ['logistic_regression', 'svm', 'xgboost'],
  );
  for (const m of r.models) {
    const metrics = json(join(out, m.modelType, 'metrics.json'));
    assert.is(metrics.model_type, m.modelType);
    assert.is(metrics.n_splits, 5);
    assert.is(metrics.fold_results.length, 5);
    const f1s = metrics.fold_results.map((f: { val_f1: number }) => f.val_f1);
    assert.ok(Math.abs(metrics.mean_val_f1 - f1s.reduce((a: number, b: number) => a + b, 0) / 5) < 1e-12);
    assert.ok(metrics.mean_val_auc > 0.7, `${m.modelType}: mean AUC ${metrics.mean_val_auc} on separable data`);
    assert.ok(metrics.best_fold >= 1 && metrics.best_fold <= 5);
    const seen = new Set<string>();
    for (let k = 1; k <= 5; k++) {
      const fold = join(out, m.modelType, `fold_${k}`);
      for (const f of ['metrics.jsonl', 'metadata.json', 'config.json', 'predictions.csv']) assert.ok(existsSync(join(fold, f)), `${fold}/${f}`);
      const lines = readFileSync(join(fold, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(Object.keys(lines[0]), ['run_id', 'timestamp', 'step', 'epoch', 'phase', 'metric', 'value']);
      assert.ok(lines.some((l) => l.metric === 'f1' && l.phase === 'val'));
      const preds = readFileSync(join(fold, 'predictions.csv'), 'utf8').trim().split('\n');
      assert.is(preds[0], 'video_id,fold,label,prob,source_group');
      for (const p of preds.slice(1)) {
        const [id, foldNo, , prob, group] = p.split(',');
        assert.is(group, `g${Math.floor(Number((id as string).slice(1)) / 2)}`, 'each video with its source (the group column)');
        assert.is(Number(foldNo), k);
        assert.ok(Number(prob) >= 0 && Number(prob) <= 1);
        assert.ok(!seen.has(id as string), `${id} predicted twice`);
        seen.add(id as string);
      }
      const meta = json(join(fold, 'metadata.json'));
      assert.ok(statSync(join(fold, 'metadata.json')).mtimeMs >= statSync(join(fold, 'predictions.csv')).mtimeMs, 'metadata.json is written last');
      assert.ok(meta.class_balance.val.real > 0 && meta.class_balance.val.fake > 0);
    }
    assert.is(seen.size, 160, 'every row validated exactly once');
    assert.ok(existsSync(join(out, m.modelType, 'best_model', 'model.json')));
    // The best fold has the highest validation score (not the lowest, not the last), and
    // best_model/ holds that fold's files; the grid's choice has the highest mean.
    const sel = metrics.selection_metric as string;
    const scores = metrics.fold_results.map((f: Record<string, number>) => f[`val_${sel}`] as number);
    assert.is(new Set(scores).size, 5, 'distinct fold scores, so the choice is tested');
    assert.is(metrics.best_fold, metrics.fold_results[scores.indexOf(Math.max(...scores))].fold, `${m.modelType}: best fold by ${sel}`);
    const model = json(join(out, m.modelType, 'best_model', 'model.json'));
    assert.is(model.fold, metrics.best_fold);
    const file = model.model_file as string;
    assert.equal(readFileSync(join(out, m.modelType, 'best_model', file)), readFileSync(join(out, m.modelType, `fold_${metrics.best_fold}`, file)));
    const grid = metrics.hyperparameter_search as Array<Record<string, unknown>>;
    if (grid.length > 1) {
      const means = grid.map((g) => g[`mean_${sel}`] as number);
      assert.equal(metrics.best_params, grid[means.indexOf(Math.max(...means))]?.params, `${m.modelType}: grid choice`);
    }
  }
  assert.is(json(join(out, 'logistic_regression', 'metrics.json')).hyperparameter_search.length, 3);
  assert.is(json(join(out, 'svm', 'metrics.json')).hyperparameter_search.length, 6);
  assert.ok(existsSync(join(out, 'xgboost', 'fold_1', 'xgboost_model.json')));
  assert.ok(existsSync(join(out, 'svm', 'fold_1', 'scaler.json')));
  const xmeta = json(join(out, 'xgboost', 'fold_1', 'metadata.json'));
  assert.ok(xmeta.best_iteration >= 0 && xmeta.feature_importance_gain.a > xmeta.feature_importance_gain.e, 'gain importance favours the informative feature');
});

test('groups never straddle folds; the same seed gives identical metrics.json', async () => {
  const groupFold = new Map<string, number>();
  for (let k = 1; k <= 5; k++)
    for (const line of readFileSync(join(out, 'xgboost', `fold_${k}`, 'predictions.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)) {
      const id = Number((line.split(',')[0] as string).slice(1));
      const g = `g${Math.floor(id / 2)}`;
      assert.ok(!groupFold.has(g) || groupFold.get(g) === k, `${g} in two folds`);
      groupFold.set(g, k);
    }
  const again = join(dir, 'stage5-again');
  await train({ models: ['logistic_regression', 'xgboost'], features: features(), outputDir: again, nSplits: 5, seed: 7, ...quiet });
  for (const m of ['logistic_regression', 'xgboost']) assert.is(readFileSync(join(again, m, 'metrics.json'), 'utf8'), readFileSync(join(out, m, 'metrics.json'), 'utf8'), m);
});

test('logistic regression matches scikit-learn (liblinear) on the same fold', () => {
  const meta = json(join(out, 'logistic_regression', 'fold_1', 'metadata.json'));
  const preds = readFileSync(join(out, 'logistic_regression', 'fold_1', 'predictions.csv'), 'utf8');
  const py = `
import csv, json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
rows = list(csv.DictReader(open(sys.argv[1])))
val = {r["video_id"]: float(r["prob"]) for r in csv.DictReader(open(sys.argv[2]))}
X = np.array([[float(r[c]) for c in "abcde"] for r in rows]); y = np.array([int(r["label"]) for r in rows])
tr = np.array([r["id"] not in val for r in rows]); va = ~tr
s = StandardScaler().fit(X[tr])
m = LogisticRegression(solver="liblinear", C=float(sys.argv[3])).fit(s.transform(X[tr]), y[tr])
p = m.predict_proba(s.transform(X[va]))[:, 1]
ours = np.array([val[r["id"]] for r, v in zip(rows, va) if v])
print(float(np.max(np.abs(p - ours))))`;
  writeFileSync(join(dir, 'preds.csv'), preds);
  const diff = Number(execFileSync('/usr/bin/python3', ['-c', py, table, join(dir, 'preds.csv'), String(meta.params.C)]).toString());
  assert.ok(diff < 1e-4, `max |p_fvc - p_sklearn| = ${diff}`);
});

test('SVM matches scikit-learn SVC (libsvm) on the same fold: same ranking, close Platt probabilities', () => {
  const meta = json(join(out, 'svm', 'fold_2', 'metadata.json'));
  writeFileSync(join(dir, 'svm-preds.csv'), readFileSync(join(out, 'svm', 'fold_2', 'predictions.csv'), 'utf8'));
  const py = `
import csv, json, sys
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
rows = list(csv.DictReader(open(sys.argv[1])))
val = {r["video_id"]: float(r["prob"]) for r in csv.DictReader(open(sys.argv[2]))}
params = json.loads(sys.argv[3])
X = np.array([[float(r[c]) for c in "abcde"] for r in rows]); y = np.array([int(r["label"]) for r in rows])
tr = np.array([r["id"] not in val for r in rows]); va = ~tr
s = StandardScaler().fit(X[tr])
m = SVC(C=float(params["C"]), kernel=params["kernel"], gamma="scale", probability=True, random_state=0).fit(s.transform(X[tr]), y[tr])
p = m.predict_proba(s.transform(X[va]))[:, 1]
ours = np.array([val[r["id"]] for r, v in zip(rows, va) if v])
print(json.dumps({"auc_diff": abs(roc_auc_score(y[va], p) - roc_auc_score(y[va], ours)), "max_prob_diff": float(np.max(np.abs(p - ours)))}))`;
  const r = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, table, join(dir, 'svm-preds.csv'), JSON.stringify(meta.params)]).toString());
  // Same solver and data give the same decision function, so the same ranking; the Platt
  // fit rests on an internal 5-fold split drawn by each library's own generator.
  assert.ok(r.auc_diff < 1e-9, `AUC differs from sklearn by ${r.auc_diff}`);
  assert.ok(r.max_prob_diff < 0.1, `max |p_fvc - p_sklearn| = ${r.max_prob_diff}`);
});

test('XGBoost device parameters follow the library version; CUDA without a CUDA build is refused', () => {
  const v1 = { version: '1.7.4', major: 1, cuda: false };
  const v2 = { version: '2.1.0', major: 2, cuda: true };
  const noGpu = () => false;
  assert.equal(xgboostDevice('auto', v1, noGpu), { tree_method: 'hist' });
  assert.equal(xgboostDevice('auto', v2, noGpu), { tree_method: 'hist', device: 'cpu' });
  assert.equal(
    xgboostDevice('auto', v2, () => true),
    { tree_method: 'hist', device: 'cuda' },
  );
  assert.equal(xgboostDevice('cuda', { ...v1, cuda: true }, noGpu), { tree_method: 'gpu_hist' });
  // One GPU of several (--gpu N): 1.x names it by gpu_id, 2.x by the device string.
  assert.equal(xgboostDevice('cuda:1', { ...v1, cuda: true }, noGpu), { tree_method: 'gpu_hist', gpu_id: '1' });
  assert.equal(xgboostDevice('cuda:1', v2, noGpu), { tree_method: 'hist', device: 'cuda:1' });
  assert.throws(() => xgboostDevice('cuda:0', v1, noGpu), /device cuda:0: libxgboost 1\.7\.4 was built without CUDA/);
  assert.throws(() => xgboostDevice('cuda', v1, noGpu), /libxgboost 1\.7\.4 was built without CUDA/);
  const info = native.xgboostInfo();
  assert.match(info.version, /^\d+\.\d+\.\d+$/);
  assert.is(typeof info.cuda, 'boolean');
});

test('XGBoost inference reuses the loaded booster until its file is replaced', async () => {
  const model = join(dir, 'cached.json');
  const rng = new Rng(3);
  const n = 200;
  const x = Float64Array.from({ length: n * 4 }, () => rng.next());
  const y = Float64Array.from({ length: n }, (_, i) => ((x[i * 4] as number) > 0.5 ? 1 : 0));
  const fit = (eta: number, output = model) => native.fitModel({ kind: 'xgboost', output, params: { objective: 'binary:logistic', eta, num_boost_round: 20, nthread: 1 }, x, y, rows: n, cols: 4 });
  const predict = (m = model) => native.predictModel({ kind: 'xgboost', model: m, x, rows: n, cols: 4 });
  await fit(0.1);
  const first = Array.from(await predict());
  assert.equal(Array.from(await predict()), first);
  await fit(0.5);
  const second = Array.from(await predict());
  assert.not.equal(second, first, 'a replaced model file is loaded again');
  await fit(0.5, join(dir, 'fresh.json'));
  assert.equal(Array.from(await predict(join(dir, 'fresh.json'))), second);
  try {
    await native.predictModel({ kind: 'xgboost', model, x: x.subarray(0, 6), rows: 2, cols: 3 });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /model has 4 features, input has 3/);
  }
});

test('resume skips finished folds; delete-existing starts over', async () => {
  const meta = join(out, 'svm', 'fold_3', 'metadata.json');
  const before = statSync(meta).mtimeMs;
  await train({ models: ['svm'], features: features(), outputDir: out, nSplits: 5, seed: 7, ...quiet });
  assert.is(statSync(meta).mtimeMs, before, 'a done fold is not retrained');
  rmSync(join(out, 'svm', 'fold_3', 'metadata.json'));
  await train({ models: ['svm'], features: features(), outputDir: out, nSplits: 5, seed: 7, ...quiet });
  assert.ok(existsSync(meta), 'a fold without metadata.json is redone');
  // Another seed is another run: its folds are trained again, never reused from this one.
  const seed8 = await train({ models: ['svm'], features: features(), outputDir: join(dir, 'stage5-seed8'), nSplits: 5, seed: 8, ...quiet });
  await train({ models: ['svm'], features: features(), outputDir: out, nSplits: 5, seed: 8, ...quiet });
  assert.ok(statSync(meta).mtimeMs > before, 'a fold of another configuration is retrained');
  assert.is(json(join(out, 'svm', 'fold_3', 'config.json')).config_hash, json(join(dir, 'stage5-seed8', 'svm', 'fold_3', 'config.json')).config_hash);
  assert.is(readFileSync(join(out, 'svm', 'metrics.json'), 'utf8'), readFileSync(join(dir, 'stage5-seed8', 'svm', 'metrics.json'), 'utf8'), 'what a fresh seed-8 run gives');
  assert.equal(seed8.failed, []);
  writeFileSync(join(out, 'svm', 'stray.txt'), 'x');
  await train({ models: ['svm'], features: features(), outputDir: out, nSplits: 5, seed: 7, deleteExisting: true, gridSearch: false, ...quiet });
  assert.ok(!existsSync(join(out, 'svm', 'stray.txt')));
});

test('a 1e308 feature cell is standardised without overflow: no null in any saved scaler; a scaler with one is refused on load', async () => {
  const huge = join(dir, 'huge.csv');
  writeTable(huge, (c, i) => i === 7 && (c[3] = '1e308'));
  const hugeOut = join(dir, 'huge');
  const r = await train({ models: ['logistic_regression'], features: features(huge), outputDir: hugeOut, nSplits: 3, tracking: false, ...quiet });
  assert.equal(r.failed, []);
  const model = join(hugeOut, 'logistic_regression');
  for (const f of ['fold_1', 'fold_2', 'fold_3', 'best_model']) {
    const s = json(join(model, f, 'scaler.json'));
    for (const v of [...s.mean, ...s.scale]) assert.ok(typeof v === 'number' && Number.isFinite(v), `${f}: ${JSON.stringify(v)}`);
  }
  const best = join(model, 'best_model');
  const s = json(join(best, 'scaler.json'));
  s.scale[1] = null;
  writeFileSync(join(best, 'scaler.json'), JSON.stringify(s));
  assert.throws(() => loadModel(best), /scaler\.json: scale\[1\] is null, not a finite positive number/);
});

test('a saved model file changed after training is refused by predict, naming it; damaged libsvm / liblinear files are refused before their libraries read them', async () => {
  const digestOut = join(dir, 'digest');
  const r = await train({ models: ['logistic_regression', 'svm', 'xgboost'], features: features(), outputDir: digestOut, nSplits: 3, tracking: false, gridSearch: false, ...quiet });
  assert.equal(r.failed, []);
  for (const m of ['logistic_regression', 'svm', 'xgboost']) {
    const best = join(digestOut, m, 'best_model');
    const d = json(join(best, 'model.json'));
    assert.equal(Object.keys(d.file_sha256).sort(), [d.model_file, ...(m === 'xgboost' ? [] : ['scaler.json'])].sort(), m);
    const fold = json(join(digestOut, m, `fold_${d.fold}`, 'metadata.json'));
    assert.equal(fold.file_sha256, d.file_sha256, `${m}: best_model carries its fold's digests`);
    loadModel(best);
    // One digit of one number: the library would load it and predict a plausible wrong probability.
    const file = join(best, d.model_file);
    const bytes = readFileSync(file);
    let at = bytes.length - 1;
    while ((bytes[at] as number) < 0x31 || (bytes[at] as number) > 0x38) at--;
    bytes[at] = (bytes[at] as number) + 1;
    writeFileSync(file, bytes);
    assert.throws(() => loadModel(best), new RegExp(`${d.model_file.replace('.', '\\.')}: damaged or replaced since it was saved`), m);
  }
  // Below the digest, the native readers check the libraries' text formats themselves: both inputs crashed libsvm / liblinear (fuzz/README.md).
  const svmFile = join(digestOut, 'svm', 'fold_1', json(join(digestOut, 'svm', 'fold_1', 'metadata.json')).model_file);
  const svmText = readFileSync(svmFile, 'utf8');
  const x = new Float64Array(10);
  const truncated = join(dir, 'truncated-svm.txt');
  writeFileSync(truncated, svmText.slice(0, svmText.length - 9));
  const e1 = await native.predictModel({ kind: 'svm', model: truncated, x, rows: 2, cols: 5 }).catch((e: FvcError) => e);
  assert.is((e1 as FvcError).code, 'ERR_INVALID_DATA');
  assert.match((e1 as Error).message, /truncated-svm\.txt: damaged libsvm model/);
  const lrFile = join(digestOut, 'logistic_regression', 'fold_1', json(join(digestOut, 'logistic_regression', 'fold_1', 'metadata.json')).model_file);
  const noLabels = join(dir, 'no-labels-lr.txt');
  writeFileSync(
    noLabels,
    readFileSync(lrFile, 'utf8')
      .replace(/^label .*\n/m, '')
      .replace(/^nr_class 2/m, 'nr_class 1'),
  );
  const e2 = await native.predictModel({ kind: 'logistic_regression', model: noLabels, x, rows: 2, cols: 5 }).catch((e: FvcError) => e);
  assert.is((e2 as FvcError).code, 'ERR_INVALID_DATA');
  assert.match((e2 as Error).message, /no-labels-lr\.txt: damaged liblinear model/);
});

test('train() reports typed progress and stops on an AbortSignal between folds, keeping what finished; a rerun resumes', async () => {
  const out = join(dir, 'events');
  const base = { models: ['logistic_regression' as const], features: features(), nSplits: 3, outputDir: out, tracking: false, ...quiet };
  const events: TrainEvent[] = [];
  const ac = new AbortController();
  const err = await train(base, {
    signal: ac.signal,
    onProgress: (e) => {
      events.push(e);
      if (e.type === 'fold-end' && e.fold === 1) ac.abort();
    },
  }).catch((e: FvcError) => e);
  assert.is((err as FvcError).code, 'ERR_ABORTED');
  assert.match((err as Error).message, /training cancelled before logistic_regression fold 2; finished folds are kept .*run the same command again to resume/);
  assert.equal(
    events.map((e) => e.type),
    ['model-start', 'grid-candidate', 'grid-candidate', 'grid-candidate', 'fold-start', 'fold-end'],
  );
  const end = events[5] as Extract<TrainEvent, { type: 'fold-end' }>;
  assert.is(end.status, 'trained');
  assert.type(end.metrics?.val_f1, 'number');
  assert.type(end.etaSeconds, 'number', 'ETA from the folds trained so far');
  assert.ok(existsSync(join(out, 'logistic_regression', 'fold_1', 'metadata.json')));
  assert.not.ok(existsSync(join(out, 'logistic_regression', 'fold_1', 'error.json')), 'a cancelled run records no failure');

  const again: TrainEvent[] = [];
  const r = await train(base, { onProgress: (e) => again.push(e) });
  assert.equal(
    again.filter((e) => e.type === 'fold-end').map((e) => (e as Extract<TrainEvent, { type: 'fold-end' }>).status),
    ['reused', 'trained', 'trained'],
  );
  assert.equal(again.at(-1), { ...(again.at(-1) as object), type: 'model-end', model: 'logistic_regression', trained: 3, failed: 0 });
  assert.is(r.models[0]?.folds.length, 3);
});

test('one run configuration file: fvc train --config trains what the same flags train, flags override it, a misspelt key is refused by its path', async () => {
  const cfgFile = join(dir, 'run.yaml');
  // Relative paths are the file's: features.csv sits beside it.
  writeFileSync(
    cfgFile,
    [
      'models: [logistic_regression]',
      'nSplits: 3',
      'seed: 11',
      'train:',
      '  outputDir: from-config',
      '  tracking: false',
      '  plots: false',
      '  features: { path: features.csv, labelColumn: label, groupColumn: group, idColumn: id }',
      '',
    ].join('\n'),
  );
  const viaConfig = runCli(['train', '--config', cfgFile, '--json']);
  assert.is(viaConfig.code, 0, viaConfig.stderr);
  const viaFlags = runCli([
    'train',
    '--models',
    'logistic_regression',
    '--n-splits',
    '3',
    '--seed',
    '11',
    '--output-dir',
    join(dir, 'from-flags'),
    '--no-tracking',
    '--no-plots',
    '--features',
    table,
    '--group-column',
    'group',
    '--id-column',
    'id',
    '--json',
  ]);
  assert.is(viaFlags.code, 0, viaFlags.stderr);
  assert.equal(json(join(dir, 'from-config', 'logistic_regression', 'metrics.json')).fold_results, json(join(dir, 'from-flags', 'logistic_regression', 'metrics.json')).fold_results);
  assert.is(json(join(dir, 'from-config', 'run_config.json')).config.seed, 11, 'the resolved configuration is saved with the results');
  const override = runCli(['train', '--config', cfgFile, '--n-splits', '2', '--output-dir', join(dir, 'from-config-2'), '--json']);
  assert.is(override.code, 0, override.stderr);
  assert.is(JSON.parse(override.stdout).models[0].folds.length, 2, 'a flag beats the file');
  writeFileSync(cfgFile, 'models: [svm]\ntrain:\n  deep: { epoch: 3 }\n');
  const typo = runCli(['train', '--config', cfgFile]);
  assert.is(typo.code, 1);
  assert.match(typo.stderr, /run\.yaml: invalid run configuration:\n {2}- train\.deep: unknown option 'epoch' \(did you mean 'epochs'\?\)/);
});

test("each fold is also scored at a threshold chosen on the other folds' out-of-fold predictions (Youden's J), never its own", async () => {
  const out = join(dir, 'threshold');
  await train({ models: ['logistic_regression'], features: features(), nSplits: 3, outputDir: out, tracking: false, ...quiet });
  const summary = json(join(out, 'logistic_regression', 'metrics.json'));
  const preds = (f: number) => parseCsv(readFileSync(join(out, 'logistic_regression', `fold_${f}`, 'predictions.csv'), 'utf8')).map((r) => ({ label: Number(r.label), prob: Number(r.prob) }));
  for (const row of summary.fold_results as Array<Record<string, number>>) {
    const others = [1, 2, 3].filter((f) => f !== row.fold).flatMap(preds);
    const t = youdenThreshold(
      others.map((p) => p.label),
      others.map((p) => p.prob),
    );
    assert.is(row.val_threshold, t, `fold ${row.fold}`);
    const own = preds(row.fold as number);
    assert.is(
      row.val_f1_at_threshold,
      computeMetrics(
        own.map((p) => p.label),
        own.map((p) => p.prob),
        t as number,
      ).f1,
    );
  }
  assert.type(summary.mean_val_f1_at_threshold, 'number');
});

test('bad input is refused before any training, naming the cause', async () => {
  const bad = async (options: Parameters<typeof train>[0], pattern: RegExp) => {
    try {
      await train({ outputDir: join(dir, 'bad'), ...quiet, ...options });
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.match((e as Error).message, pattern);
    }
  };
  // Unknown names fail to compile as well; the run-time check is for untyped callers (the CLI, JavaScript).
  await bad({ models: ['nope' as ModelRequest], features: features() }, /model 'nope': unknown/);
  await bad({ models: ['ensemble:svm'], features: features() }, /an ensemble needs two or more members/);
  await bad({ models: ['lightgbm' as ModelRequest], features: features() }, /LightGBM cannot be installed.*xgboost_lossguide/);
  // A deep model reads videos: a features table alone does not stand in for them.
  await bad({ models: ['vivit'], features: features(), stage3Dir: join(dir, 'no-stage3') }, /no-stage3\/scaled_metadata\.parquet: no such file \(deep models read the videos/);
  const three = join(dir, 'three.csv');
  writeTable(three, (c, i) => i === 3 && (c[2] = '2'));
  await bad({ models: ['svm'], features: features(three) }, /label column 'label' must hold 0 \(real\) or 1 \(fake\); found '2' \(1 row\(s\): 4\)/);
  // An empty or NULL label is not 0: refused with its rows, from CSV and from Parquet.
  const blank = join(dir, 'blank.csv');
  writeTable(blank, (c, i) => (i === 4 || i === 6) && (c[2] = ''));
  await bad({ models: ['svm'], features: features(blank) }, /found (NULL|empty) \(2 row\(s\): 5, 7\)/);
  const nullLabels = join(dir, 'null-labels.parquet');
  await writeParquet(
    nullLabels,
    [
      ['video_path', 'VARCHAR'],
      ['label', 'INTEGER'],
      ['a', 'DOUBLE'],
    ],
    Array.from({ length: 8 }, (_, i) => ({ video_path: `v${i}.mp4`, label: i === 5 ? null : i % 2, a: i })),
  );
  await bad({ models: ['svm'], features: { path: nullLabels } }, /label column 'label' must hold 0 \(real\) or 1 \(fake\); found NULL \(1 row\(s\): 6\)/);
  const nan = join(dir, 'nan.csv');
  writeTable(nan, (c, i) => i === 10 && (c[4] = 'NaN'));
  await bad({ models: ['svm'], features: features(nan) }, /'b': row 11 holds 'NaN', not a finite number/);
  await bad({ models: ['svm'], features: { ...features(), labelColumn: 'y' } }, /--label-column 'y' is not a column/);
  await bad({ models: ['svm'], features: features(), nSplits: 1 }, /nSplits: .*2/);
  // CUDA asked of a CPU-only build: refused once, before any fold, naming the library.
  if (!native.xgboostInfo().cuda) await bad({ models: ['xgboost'], features: features(), device: 'cuda' }, /device cuda: libxgboost .* was built without CUDA/);
  if (native.resolveDevice('auto') === 'cpu') await bad({ models: ['naive_cnn'], features: features(), device: 'cuda' }, /'cuda' was requested but LibTorch sees no CUDA device .*GPU builds/);
  // A misspelt option is an error, not silently the default (plain JavaScript callers, JSON configs).
  await bad({ models: ['svm'], features: features(), ...({ nSplit: 3 } as object) }, /unknown option 'nSplit' \(did you mean 'nSplits'\?\)/);
  await bad({ models: ['svm'], features: features(), deep: { ...({ epoch: 2 } as object) } }, /deep: unknown option 'epoch' \(did you mean 'epochs'\?\)/);
  await bad({ models: ['svm'], features: { path: join(dir, 'missing.csv') } }, /missing\.csv: no such file/);
  await bad({ models: ['svm'], features: features(), nSplits: 3, folds: [2, 4] }, /folds: fold\(s\) 4 outside 1\.\.3/);
});

test('split runs: a grid-search phase, single folds, then aggregation give what one run gives; the search is reused', async () => {
  const split = join(dir, 'split');
  const base = { models: ['svm' as const], features: features(), outputDir: split, nSplits: 3, seed: 7, ...quiet };
  await train({ ...base, only: 'grid_search' });
  const grid = join(split, 'svm', 'grid_search.json');
  assert.ok(existsSync(grid));
  assert.not.ok(existsSync(join(split, 'svm', 'fold_1')), 'the grid phase trains no fold');
  const searched = statSync(grid).mtimeMs;
  for (const fold of [3, 1]) await train({ ...base, folds: [fold] });
  assert.is(statSync(grid).mtimeMs, searched, 'fold tasks reuse the saved search');
  assert.not.ok(existsSync(join(split, 'svm', 'metrics.json')), 'fold tasks write no summary');
  const partial = await train({ ...base, only: 'aggregate' });
  assert.equal(
    partial.models[0]?.failedFolds.map((f) => f.fold),
    [2],
    'a fold never trained is reported',
  );
  await train({ ...base, folds: [2] });
  await train({ ...base, only: 'aggregate' });
  await train({ ...base, outputDir: join(dir, 'whole') });
  const read = (d: string) => JSON.parse(readFileSync(join(d, 'svm', 'metrics.json'), 'utf8'));
  assert.equal(read(split).fold_results, read(join(dir, 'whole')).fold_results);
  assert.equal(read(split).best_params, read(join(dir, 'whole')).best_params);
  assert.ok(existsSync(join(split, 'svm', 'best_model', 'model.json')));
});

test('fvc train and fvc predict on real Stage 2 features of a generated corpus', async () => {
  const corpus = join(dir, 'corpus');
  await generateCorpus({ out: corpus, videos: 24, duration: 1, seed: 21, quiet: true });
  const s2 = join(dir, 'stage2');
  await runFeatureStage({ stage: 'stage2', metadata: join(corpus, 'metadata.csv'), out: s2, numFrames: 4, quiet: true });
  const o = join(dir, 'cli-stage5');
  const r = runCli(['train', '--models', 'xgboost,logistic_regression', '--n-splits', '3', '--stage2-dir', s2, '--output-dir', o, '--json'], { FVC_NUM_FRAMES: '4' });
  assert.is(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.is(summary.models.length, 2);
  assert.ok(existsSync(join(o, 'xgboost', 'best_model', 'xgboost_model.json')));
  const video = join(corpus, 'videos', 'real_0000.mp4');
  assert.equal(json(join(o, 'xgboost', 'best_model', 'model.json')).num_frames, { stage2: 4 }, 'the sampling of the training features is kept');
  const p = runCli(['predict', video, '--model', join(o, 'xgboost', 'best_model'), '-n', '4', '--json']);
  assert.is(p.code, 0, p.stderr);
  const [pred] = JSON.parse(p.stdout);
  assert.ok(pred.prob >= 0 && pred.prob <= 1 && pred.video === video);
  const implicit = runCli(['predict', video, '--model', join(o, 'xgboost', 'best_model'), '--json']);
  assert.equal(JSON.parse(implicit.stdout), [pred], 'predict samples as the training features did');

  // An ensemble of the two, trained after them into the same folder: each fold's P(fake) is the members' mean.
  const ens = runCli(['train', '--models', 'ensemble:xgboost+logistic_regression', '--n-splits', '3', '--stage2-dir', s2, '--output-dir', o, '--no-tracking', '--json'], { FVC_NUM_FRAMES: '4' });
  assert.is(ens.code, 0, ens.stderr);
  const ensDir = join(o, 'ensemble_xgboost+logistic_regression');
  const probsOf = (d: string) =>
    new Map(
      readFileSync(join(d, 'fold_2', 'predictions.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => [l.split(',')[0], Number(l.split(',')[3])]),
    );
  const [e, x, l] = [probsOf(ensDir), probsOf(join(o, 'xgboost')), probsOf(join(o, 'logistic_regression'))];
  assert.ok(e.size > 0);
  for (const [id, p] of e) assert.ok(Math.abs(p - ((x.get(id) as number) + (l.get(id) as number)) / 2) < 1e-12, id);
  const ensBest = join(ensDir, 'best_model');
  const [pe] = JSON.parse(runCli(['predict', video, '--model', ensBest, '--json']).stdout);
  const member = (m: string) => JSON.parse(runCli(['predict', video, '--model', join(ensBest, 'members', m), '--json']).stdout)[0].prob as number;
  assert.ok(Math.abs(pe.prob - (member('xgboost') + member('logistic_regression')) / 2) < 1e-12, "predict averages the best fold's member models");
  // Stacking: best_model/ predicts with its members, then its stacker.
  const st = runCli(['train', '--models', 'stack:xgboost+logistic_regression', '--n-splits', '3', '--stage2-dir', s2, '--output-dir', o, '--no-tracking', '--json'], { FVC_NUM_FRAMES: '4' });
  assert.is(st.code, 0, st.stderr);
  const stBest = join(o, 'stack_xgboost+logistic_regression', 'best_model');
  const { stacker } = json(join(stBest, 'model.json')) as { stacker: { coef: number[]; intercept: number } };
  const [ps] = JSON.parse(runCli(['predict', video, '--model', stBest, '--json']).stdout);
  // The stacker reads members' probabilities clipped to [1e-6, 1 - 1e-6] (ts/train/stacker.ts), as a saturated member may say 0 or 1.
  const logit = (p: number) => Math.log(Math.min(Math.max(p, 1e-6), 1 - 1e-6) / (1 - Math.min(Math.max(p, 1e-6), 1 - 1e-6)));
  const stMember = (m: string) => JSON.parse(runCli(['predict', video, '--model', join(stBest, 'members', m), '--json']).stdout)[0].prob as number;
  const z = stacker.intercept + (stacker.coef[0] as number) * logit(stMember('xgboost')) + (stacker.coef[1] as number) * logit(stMember('logistic_regression'));
  assert.ok(Math.abs(ps.prob - 1 / (1 + Math.exp(-z))) < 1e-9, "predict applies the stacker to the best fold's member models");

  // fvc evaluate: a best_model scored on a labelled table, metrics as scikit-learn computes them.
  const evalDir = join(dir, 'evaluate');
  const ev = runCli(['evaluate', '--model', join(o, 'xgboost', 'best_model'), '--metadata', join(corpus, 'metadata.csv'), '--out', evalDir, '--by', 'manipulation', '--json']);
  assert.is(ev.code, 0, ev.stderr);
  const evaluation = JSON.parse(ev.stdout);
  assert.is(evaluation.videos, 24);
  assert.equal(evaluation.predictions.find((x: { video: string }) => x.video === 'videos/real_0000.mp4')?.prob, pred.prob, 'the probabilities fvc predict gives');
  // Per manipulation, each group's fakes against every real video, as per-manipulation results are reported.
  type P = { video: string; label: number; prob: number };
  const preds = evaluation.predictions as P[];
  const manipulation = new Map((await readTable(join(corpus, 'metadata.csv'))).map((r) => [r.video_path as string, r.manipulation as string]));
  const warp = preds.filter((x) => x.label === 0 || manipulation.get(x.video) === 'warp');
  const group = evaluation.subgroups.find((g: { column: string; value: string }) => g.column === 'manipulation' && g.value === 'warp');
  assert.is(group?.against, 'every real video');
  assert.is(group?.videos, preds.filter((x) => manipulation.get(x.video) === 'warp').length);
  const cases = join(evalDir, 'cases.json');
  writeFileSync(cases, JSON.stringify([preds, warp].map((set) => ({ labels: set.map((x) => x.label), probs: set.map((x) => x.prob) }))));
  const [ref, refWarp] = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'test', 'metrics_reference.py'), cases]).toString());
  for (const k of ['accuracy', 'f1', 'precision', 'recall', 'roc_auc', 'average_precision', 'log_loss', 'tpr_at_fpr_5', 'brier', 'ece']) {
    assert.ok(Math.abs(evaluation.metrics[k] - ref[k]) < 1e-9, `${k}: ${evaluation.metrics[k]} vs ${ref[k]}`);
    assert.ok(Math.abs(group.metrics[k] - refWarp[k]) < 1e-9, `warp ${k}: ${group.metrics[k]} vs ${refWarp[k]}`);
  }
  for (const f of ['metrics.json', 'predictions.csv', 'plots/roc_pr_curves.png', 'plots/confusion_matrix.png', 'plots/prediction_distribution.png']) assert.ok(existsSync(join(evalDir, f)), f);
  assert.is(json(join(evalDir, 'metrics.json')).roc_auc, evaluation.metrics.roc_auc);
  const [low, high] = evaluation.intervals.roc_auc as [number, number];
  assert.ok(low <= evaluation.metrics.roc_auc && evaluation.metrics.roc_auc <= high && high - low > 0, 'a 95% bootstrap interval around the AUC');
  const early = join(dir, 'cli-early');
  const missing = runCli(['train', '--models', 'logistic_regression,svm_stage4', '--stage2-dir', s2, '--stage4-dir', join(dir, 'no-stage4'), '--output-dir', early]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /features_scaled_metadata\.parquet: no such file/);
  assert.ok(!existsSync(join(early, 'logistic_regression')), "no model trains when another model's input is missing");
  const un = runCli(['train', '--models', 'catboost', '--output-dir', o]);
  assert.is(un.code, 1);
  assert.match(un.stderr, /CatBoost cannot be installed/);
});

test("deep models train on the corpus videos; fvc predict from the videos gives the best fold's validation probabilities", async () => {
  const corpus = join(dir, 'corpus');
  const o = join(dir, 'cli-deep');
  const env = { FVC_NUM_FRAMES: '4', FVC_FRAME_CACHE_DIR: join(dir, 'frame-cache') };
  // rgb (naive_cnn), rgb+flow (two_stream) and rgb+mask (variable_ar_cnn) clips from one metadata table.
  const r = runCli(
    [
      'train',
      '--models',
      'naive_cnn,two_stream,variable_ar_cnn',
      '--videos',
      join(corpus, 'metadata.csv'),
      '--n-splits',
      '3',
      '--epochs',
      '2',
      '--width',
      '0.25',
      '--depth',
      '1',
      '--frame-size',
      '48',
      '--crop-size',
      '40',
      '--output-dir',
      o,
      '--json',
    ],
    env,
  );
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /with dis optical flow/);
  for (const model of ['naive_cnn', 'two_stream', 'variable_ar_cnn']) {
    const best = join(o, model, 'best_model');
    const descriptor = json(join(best, 'model.json'));
    assert.is(descriptor.kind, 'torch');
    const rows = readFileSync(join(o, model, `fold_${descriptor.fold}`, 'predictions.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1, 4)
      .map((l) => l.split(','));
    const p = runCli(['predict', ...rows.map((row) => join(corpus, row[0] as string)), '--model', best, '--json'], env);
    assert.is(p.code, 0, p.stderr);
    const preds = JSON.parse(p.stdout) as Array<{ prob: number }>;
    rows.forEach((row, i) => assert.ok(Math.abs((preds[i]?.prob ?? -1) - Number(row[3])) < 1e-5, `${model} ${row[0]}: ${preds[i]?.prob} vs ${row[3]}`));
  }
});

test("deep.innerValidation: a share of each training fold's sources picks the epoch; the held-out videos, none of them picking, are scored by that epoch's checkpoint", async () => {
  const corpus = join(dir, 'corpus');
  const o = join(dir, 'cli-inner');
  const env = { FVC_NUM_FRAMES: '4', FVC_FRAME_CACHE_DIR: join(dir, 'frame-cache') };
  const flags = ['--videos', join(corpus, 'metadata.csv'), '--n-splits', '3', '--epochs', '2', '--width', '0.25', '--depth', '1', '--frame-size', '48', '--crop-size', '40', '--output-dir', o];
  const r = runCli(['train', '--models', 'naive_cnn', ...flags, '--inner-validation', '0.34'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /naive_cnn: fold 1: \d+ of its \d+ training videos pick the best epoch \(deep\.innerValidation 0\.34\); its \d+ held-out videos only score it/);
  assert.match(r.stderr, /fold 1 epoch 1\/2 train_loss [\d.]+ select_loss [\d.]+ select_auc/);
  const sourceOf = new Map(parseCsv(readFileSync(join(corpus, 'metadata.csv'), 'utf8')).map((row) => [row.video_path as string, row.source_id as string]));
  for (const f of [1, 2, 3]) {
    const fold = join(o, 'naive_cnn', `fold_${f}`);
    const picking = json(join(fold, 'metadata.json')).native_params.inner_validation as { fraction: number; videos: string[] };
    assert.is(picking.fraction, 0.34);
    const heldOut = new Set(parseCsv(readFileSync(join(fold, 'predictions.csv'), 'utf8')).map((row) => row.video_id as string));
    const trainedOn = [...sourceOf.keys()].filter((v) => !heldOut.has(v) && !picking.videos.includes(v));
    assert.ok(picking.videos.length > 0 && trainedOn.length > picking.videos.length, `fold ${f}: ${picking.videos.length} pick, ${trainedOn.length} train`);
    assert.not.ok(
      picking.videos.some((v) => heldOut.has(v)),
      `fold ${f}: a held-out video picked the epoch`,
    );
    const trainedSources = new Set(trainedOn.map((v) => sourceOf.get(v)));
    assert.not.ok(
      picking.videos.some((v) => trainedSources.has(sourceOf.get(v))),
      `fold ${f}: a source both trains and picks`,
    );
    for (const cls of ['real', 'fake'])
      assert.ok(
        picking.videos.some((v) => v.includes(cls)),
        `fold ${f}: no ${cls} video picks`,
      );
  }
  // The held-out probabilities are the chosen checkpoint's: fvc predict with it gives them back.
  const best = join(o, 'naive_cnn', 'best_model');
  const rows = parseCsv(readFileSync(join(o, 'naive_cnn', `fold_${json(join(best, 'model.json')).fold}`, 'predictions.csv'), 'utf8')).slice(0, 4);
  const p = runCli(['predict', ...rows.map((row) => join(corpus, row.video_id as string)), '--model', best, '--json'], env);
  assert.is(p.code, 0, p.stderr);
  const preds = JSON.parse(p.stdout) as Array<{ prob: number }>;
  rows.forEach((row, i) => assert.ok(Math.abs((preds[i]?.prob ?? -1) - Number(row.prob)) < 1e-5, `${row.video_id}: ${preds[i]?.prob} vs ${row.prob}`));
  // Too small a share for the fold's sources is refused, naming the field.
  const small = runCli(['train', '--models', 'naive_cnn', ...flags.map((x) => (x === o ? `${o}-small` : x)), '--inner-validation', '0.01'], env);
  assert.is(small.code, 1);
  assert.match(small.stderr, /deep\.innerValidation 0\.01: a training fold's \d+ source\(s\) cannot give 1 in 100 to pick the epoch/);
});

test.run();
