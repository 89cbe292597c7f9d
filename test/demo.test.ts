/**
 * `fvc demo` end to end at a small size: corpus, the pipeline (Stages 1-5), the summary,
 * the report, and one verdict line per model, the small deep model (trace_cnn, on Stage
 * 1's videos at their own size) included. The full-size numbers (200 clips, learning above chance) are in the README, from
 * `npm run demo`; at 24 clips a verdict may say AT CHANCE, and must say something.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEMO_MODELS } from '../ts/demo.js';
import { artifacts, runCli } from './helpers.js';

test('fvc demo trains the feature models and trace_cnn, and says per model whether it beats chance', () => {
  const out = join(artifacts, 'demo');
  rmSync(out, { recursive: true, force: true });
  // FVC_FRAME_CACHE_DIR empty is unset: the demo's frame cache goes with its other outputs.
  const r = runCli(['demo', '--out', out, '--videos', '24', '--epochs', '1', '-n', '4'], { FVC_FRAME_CACHE_DIR: '' });
  assert.is(r.code, 0, r.stderr.slice(-4000));
  assert.ok(existsSync(join(out, 'data', 'cache', 'frames')), 'the frame cache is not under --out');
  for (const m of DEMO_MODELS) {
    assert.ok(existsSync(join(out, 'data', 'stage5', m, 'metrics.json')), `${m} trained`);
    assert.match(
      r.stdout,
      new RegExp(
        `^${m}: out-of-fold AUC [0-9.]+ \\(95% CI [0-9.]+-[0-9.]+, \\d+ videos, resampling \\d+ sources\\): (AT CHANCE, no better than guessing on this data|above chance(, but weakly \\(AUC below 0\\.60\\))?)$`,
        'm',
      ),
      m,
    );
  }
  assert.match(r.stdout, /^report: .*report\.html$/m);
  // The deep model reads Stage 1's videos, whose traces Stage 3's re-encode has not smoothed away.
  const log = readFileSync(join(out, 'logs', 'stage5.log'), 'utf8');
  assert.match(log, /trace_cnn: \d+ rows x 0 features from .*stage1\/augmented_metadata\.parquet/);
  // -n 4 reaches the deep model too (its preset is 8).
  assert.match(log, /clips of 4 frames at their own size in adjacent pairs from .*stage1\/augmented_metadata\.parquet/);
});

test('a demo whose pipeline fails says which stage and where its log is, instead of a missing report folder', () => {
  const out = join(artifacts, 'demo-fails');
  rmSync(out, { recursive: true, force: true });
  // Two clips cannot fill five folds: Stage 5 refuses them.
  const r = runCli(['demo', '--out', out, '--videos', '2', '--models', 'logistic_regression']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /demo: no model was trained: stage5 failed \(log: .*logs\/stage5\.log\); fix the cause and run the demo again/);
  assert.not.match(r.stderr, /ENOENT|unexpected error/);
});

test.run();
