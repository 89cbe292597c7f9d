import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Analytics } from '../ts/analytics/analytics.js';
import { readTable } from '../ts/data/table.js';
import { generateCorpus, runFeatureStage } from '../ts/index.js';
import { buildReport } from '../ts/report/report.js';
import { train } from '../ts/train/engine.js';
import { computeMetrics } from '../ts/evaluation/metrics.js';
import { artifacts, runCli } from './helpers.js';

const dir = join(artifacts, 'report');
const s2 = join(dir, 'stage2');
const s5 = join(dir, 'stage5');
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const MODELS = ['logistic_regression', 'svm', 'xgboost'] as const;

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const corpus = join(dir, 'corpus');
  await generateCorpus({ out: corpus, videos: 24, duration: 1, seed: 33, quiet: true });
  await runFeatureStage({ stage: 'stage2', metadata: join(corpus, 'metadata.csv'), out: s2, numFrames: 4, quiet: true });
  // Plots are drawn at the end of training, as a user's run would.
  await train({ models: [...MODELS], nSplits: 3, stage2Dir: s2, outputDir: s5, tracking: false, quiet: true });
});

test('analytics views hold exactly what the files hold', async () => {
  const a = await Analytics.open({ stage5Dir: s5, stage2Dir: s2 });
  try {
    const folds = (await a.query('SELECT * FROM fold_results ORDER BY model_type, fold')).rows;
    assert.is(folds.length, 9);
    for (const m of MODELS) {
      const metrics = json(join(s5, m, 'metrics.json'));
      for (const f of metrics.fold_results) {
        const row = folds.find((r) => r.model_type === m && r.fold === f.fold) as Record<string, unknown>;
        for (const k of ['val_acc', 'val_f1', 'val_auc', 'val_loss']) assert.is(row[k], f[k], `${m} fold ${f.fold} ${k}`);
      }
    }
    let lines = 0;
    let probSum = 0;
    let jsonl = 0;
    for (const m of MODELS)
      for (let k = 1; k <= 3; k++) {
        const csv = readFileSync(join(s5, m, `fold_${k}`, 'predictions.csv'), 'utf8')
          .trim()
          .split('\n')
          .slice(1);
        lines += csv.length;
        probSum += csv.reduce((s, l) => s + Number(l.split(',')[3]), 0);
        jsonl += readFileSync(join(s5, m, `fold_${k}`, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n').length;
      }
    const p = (await a.query('SELECT COUNT(*) AS n, SUM(prob) AS s FROM predictions')).rows[0] as { n: number; s: number };
    assert.is(typeof p.n, 'number', 'BIGINT comes back as a JS number');
    assert.is(p.n, lines);
    assert.ok(Math.abs(p.s - probSum) < 1e-9);
    assert.is((await a.query('SELECT COUNT(*) AS n FROM metrics_log')).rows[0]?.n, jsonl);
    assert.equal(
      (await a.query("SELECT DISTINCT model_type FROM metrics_log WHERE phase = 'val' ORDER BY 1")).rows.map((r) => r.model_type),
      MODELS,
    );

    const summary = (await a.trainingSummary()).rows;
    for (const m of MODELS) {
      const metrics = json(join(s5, m, 'metrics.json'));
      const row = summary.find((r) => r.model_type === m) as Record<string, number> & { avg_val_f1: number; std_val_f1: number };
      assert.ok(Math.abs(row.avg_val_f1 - metrics.mean_val_f1) < 1e-12 && Math.abs(row.std_val_f1 - metrics.std_val_f1) < 1e-12, m);
      assert.is(row.fold_count, 3);
      // Per manipulation: one manipulation's fakes against every real video, from the fold predictions.
      const groups = (await a.subgroups('manipulation')).rows.filter((r) => r.model_type === m);
      const preds = (await a.query(`SELECT p.label, p.prob, f.manipulation FROM predictions p JOIN features_stage2 f ON p.video_id = f.video_id WHERE p.model_type = '${m}'`)).rows as Array<{
        label: number;
        prob: number;
        manipulation: string;
      }>;
      const warp = preds.filter((p) => p.label === 0 || p.manipulation === 'warp');
      const g = groups.find((r) => r.manipulation === 'warp');
      assert.is(g?.against, 'every real video');
      assert.is(
        g?.roc_auc,
        computeMetrics(
          warp.map((p) => p.label),
          warp.map((p) => p.prob),
        ).roc_auc,
        `${m} warp`,
      );
      // Operating points over folds: the view's mean is metrics.json's.
      const op = (await a.operatingPoints()).rows.find((r) => r.model_type === m) as Record<string, number>;
      for (const k of ['tpr_at_fpr_5', 'brier', 'ece']) assert.ok(Math.abs((op[`avg_${k}`] as number) - metrics[`mean_val_${k}`]) < 1e-12, `${m} ${k}`);
    }

    const table = await readTable(join(s2, 'features_metadata.parquet'));
    const stats = (await a.featureStatistics()).rows;
    const lap = stats.find((r) => r.feature === 'laplacian_var_mean') as Record<string, number> & { mean: number; max: number };
    const xs = table.map((r) => Number(r.laplacian_var_mean));
    assert.is(lap.count, xs.length);
    assert.ok(Math.abs(lap.mean - xs.reduce((s, x) => s + x, 0) / xs.length) < 1e-9 * Math.abs(lap.mean));
    assert.is(lap.max, Math.max(...xs));
    const videos = (await a.videoStatistics()).rows;
    assert.equal(
      videos.map((v) => [v.label, v.videos]),
      [
        [0, table.filter((r) => Number(r.label) === 0).length],
        [1, table.filter((r) => Number(r.label) === 1).length],
      ],
    );

    const timings = (await a.query('SELECT stage, model_type, fold, status FROM timings')).rows;
    assert.ok(
      timings.some((t) => t.stage === 'stage2' && t.model_type === null),
      'the Stage 2 run',
    );
    assert.is(timings.filter((t) => t.stage === 'stage5' && t.model_type === null).length, 1, 'the training run as a whole');
    for (const m of MODELS) {
      assert.is(timings.filter((t) => t.model_type === m && t.fold !== null).length, 3, `${m}: a row per fold`);
      assert.is(timings.filter((t) => t.model_type === m && t.fold === null).length, 1, `${m}: a row for the model`);
    }
  } finally {
    a.close();
  }
});

test('fvc query prints a table, JSON or CSV, and names the views on a bad query', () => {
  const j = runCli(['query', '--output-dir', s5, '--stage2-dir', s2, 'SELECT model_type, COUNT(*) AS folds FROM fold_results GROUP BY 1 ORDER BY 1', '--json']);
  assert.is(j.code, 0, j.stderr);
  assert.equal(
    JSON.parse(j.stdout),
    MODELS.map((m) => ({ model_type: m, folds: 3 })),
  );
  const c = runCli(['query', '--output-dir', s5, '--preset', 'training_summary', '--csv']);
  assert.is(c.code, 0, c.stderr);
  assert.match(c.stdout.split('\n')[0] as string, /^model_type,avg_val_acc,std_val_acc,/);
  const op = runCli(['query', '--output-dir', s5, '--preset', 'operating_points', '--csv']);
  assert.is(op.code, 0, op.stderr);
  assert.match(op.stdout.split('\n')[0] as string, /^model_type,avg_tpr_at_fpr_1,std_tpr_at_fpr_1,avg_tpr_at_fpr_5,/);
  const t = runCli(['query', '--output-dir', s5, '--stage2-dir', s2, '--preset', 'video_statistics']);
  assert.match(t.stdout, /label\s+videos/);
  const bad = runCli(['query', '--output-dir', s5, 'SELECT * FROM nope']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /nope.*\n?.*views: metrics_log, fold_results, predictions/s);
});

/** Width, height, and the share of pixels that are not the background, decoded by Pillow. */
function pngStats(path: string): { width: number; height: number; ink: number } {
  const py =
    'import json,sys\nfrom PIL import Image\nim=Image.open(sys.argv[1]).convert("L")\nh=im.histogram()\nprint(json.dumps({"width":im.width,"height":im.height,"ink":1-h[255]/(im.width*im.height)}))';
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, path]).toString());
}

test("plots: each model's kinds and the comparison, decoded and not blank", () => {
  for (const m of MODELS) {
    const files = readdirSync(join(s5, m, 'plots')).sort();
    const expected = ['confusion_matrix.png', 'cv_fold_comparison.png', 'prediction_distribution.png', 'reliability.png', 'roc_pr_curves.png'];
    // xgboost's grid has one point but a curve per boosting round; logistic regression and SVM are fitted in one go: a grid, no curve.
    expected.push(m === 'xgboost' ? 'training_curves.png' : 'hyperparameter_search.png');
    assert.equal(files, expected.sort(), m);
    for (const f of files) {
      const s = pngStats(join(s5, m, 'plots', f));
      assert.ok(s.width >= 400 && s.height >= 200, `${m}/${f}: ${s.width}x${s.height}`);
      assert.ok(s.ink > 0.02 && s.ink < 0.9, `${m}/${f}: ${(s.ink * 100).toFixed(1)}% non-white`);
    }
  }
  assert.ok(pngStats(join(s5, 'plots', 'model_comparison.png')).ink > 0.02);
  const p = runCli(['plots', '--output-dir', s5, '--models', 'svm']);
  assert.is(p.code, 0, p.stderr);
  assert.is(p.stdout.trim().split('\n').length, 7, 'six svm plots (no training curve: fitted in one go) and the comparison');
});

test('report: one self-contained page that headless Chromium renders with every plot', async () => {
  const r = await buildReport({ stage5Dir: s5, stage2Dir: s2, output: join(dir, 'report.html') });
  assert.equal(r.models.sort(), MODELS);
  const html = readFileSync(r.output, 'utf8');
  assert.not.match(html, /(src|href)="(https?:|file:|\/)/, 'nothing loaded from outside the page');
  assert.match(html, /id="timings"/);
  assert.match(html, /Operating points and calibration over folds/);
  assert.match(html, /Out-of-fold results per manipulation/);
  assert.match(html, /Each model against the highest out-of-fold AUC/, "the best model's lead comes with DeLong's p");
  const profile = join(dir, 'chromium-profile');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  const url = pathToFileURL(r.output).href;
  const dom = spawnSync('chromium', [...flags, '--virtual-time-budget=10000', '--dump-dom', url], { timeout: 120_000, encoding: 'utf8' });
  assert.is(dom.status, 0, dom.stderr);
  const total = Number(/data-plots-total="(\d+)"/.exec(dom.stdout)?.[1]);
  const loaded = Number(/data-plots-loaded="(\d+)"/.exec(dom.stdout)?.[1]);
  assert.is(total, r.plots);
  assert.is(loaded, total, 'every plot decoded in the browser');
  const shot = join(dir, 'report-screenshot.png');
  const s = spawnSync('chromium', [...flags, '--window-size=1280,2400', `--screenshot=${shot}`, url], { timeout: 120_000, encoding: 'utf8' });
  assert.is(s.status, 0, s.stderr);
  assert.ok(existsSync(shot));
  assert.ok(pngStats(shot).ink > 0.05, 'the screenshot shows the page');
});

test.run();
