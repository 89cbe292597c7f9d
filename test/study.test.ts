/**
 * The seed's study on one set of videos: an augmented pipeline (Stage 1 copies on),
 * then feature, deep, ensemble and stacking models trained on it. Every model names a
 * video the same way and validates on the same videos per fold, so any two can be
 * compared, ensembled and stacked; training is visible while it runs (metrics.jsonl
 * and MLflow per epoch, batch and grid-search events); the report covers every model
 * and fits a 1400 px window.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, readTable } from '../ts/index.js';
import { loadMetadata } from '../ts/data/metadata.js';
import { STAGES } from '../ts/pipeline/dag.js';
import { runPipeline } from '../ts/pipeline/runner.js';
import { buildReport } from '../ts/report/report.js';
import { compareModels } from '../ts/evaluation/compare.js';
import { train } from '../ts/train/engine.js';
import type { TrainEvent } from '../ts/train/events.js';
import { parseCsv } from '../ts/util/csv.js';
import { artifacts, runCli } from './helpers.js';

const dir = join(artifacts, 'study');
const data = join(dir, 'data');
const dirs = Object.fromEntries(STAGES.map((s) => [s, join(data, s)])) as Record<(typeof STAGES)[number], string>;
const s5 = dirs.stage5;
const mlruns = join(dir, 'mlruns');
const MODELS = ['logistic_regression', 'xgboost', 'naive_cnn', 'ensemble:logistic_regression+naive_cnn', 'stack:logistic_regression+naive_cnn'] as const;
const FOLDERS = ['logistic_regression', 'xgboost', 'naive_cnn', 'ensemble_logistic_regression+naive_cnn', 'stack_logistic_regression+naive_cnn'];
const deep = { epochs: 2, patience: 5, batchSize: 4, frameSize: 48, cropSize: 40, width: 0.25, warmupEpochs: 1 };
const base = { nSplits: 3, seed: 7, numFrames: 4, stage2Dir: dirs.stage2, stage3Dir: dirs.stage3, stage4Dir: dirs.stage4, frameCacheDir: join(dir, 'cache'), quiet: true, deep };
const events: TrainEvent[] = [];
/** At each epoch event: did that fold's metrics.jsonl already hold the epoch's lines? */
const liveEpochs: Array<{ model: string; fold: number; epoch: number; logged: boolean }> = [];

const foldIds = (model: string, fold: number) =>
  parseCsv(readFileSync(join(s5, model, `fold_${fold}`, 'predictions.csv'), 'utf8'))
    .map((r) => String(r.video_id))
    .sort();

/** Every run of an MLflow file-store experiment: its run name, status and the metric files it has. */
function mlflowRuns(experiment: string) {
  const exp = readdirSync(mlruns).find((e) => existsSync(join(mlruns, e, 'meta.yaml')) && /^name: (.*)$/m.exec(readFileSync(join(mlruns, e, 'meta.yaml'), 'utf8'))?.[1] === experiment);
  assert.ok(exp, `MLflow experiment ${experiment}`);
  return readdirSync(join(mlruns, exp as string))
    .filter((r) => r !== 'meta.yaml')
    .map((r) => {
      const meta = readFileSync(join(mlruns, exp as string, r, 'meta.yaml'), 'utf8');
      const metric = (key: string) => {
        const file = join(mlruns, exp as string, r, 'metrics', key);
        return existsSync(file)
          ? readFileSync(file, 'utf8')
              .trim()
              .split('\n')
              .map((l) => ({ value: Number(l.split(' ')[1]), step: Number(l.split(' ')[2]) }))
          : [];
      };
      return { id: r, dir: join(mlruns, exp as string, r), name: /^run_name: (.*)$/m.exec(meta)?.[1], status: Number(/^status: (\d+)$/m.exec(meta)?.[1]), metric };
    });
}

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const corpus = await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 1, seed: 21, strength: 4, quiet: true });
  const r = await runPipeline({ metadata: corpus.metadataPath, dirs, copies: 1, numFrames: 4, stages: ['stage1', 'stage2', 'stage3', 'stage4'], logsDir: join(dir, 'logs'), log: () => undefined });
  assert.ok(r.ok, JSON.stringify(r.stages));
  await train(
    { ...base, models: [...MODELS], outputDir: s5, tracking: true, trackingUri: mlruns },
    {
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'epoch') {
          const file = join(s5, e.model, `fold_${e.fold}`, 'metrics.jsonl');
          const lines = existsSync(file)
            ? readFileSync(file, 'utf8')
                .trim()
                .split('\n')
                .map((l) => JSON.parse(l) as { epoch: number; phase: string; metric: string })
            : [];
          liveEpochs.push({
            model: e.model,
            fold: e.fold,
            epoch: e.epoch.epoch,
            logged: ['train', 'val'].every((p) => lines.some((l) => l.epoch === e.epoch.epoch && l.phase === p && l.metric === 'loss')),
          });
        }
      },
    },
  );
});

test('one video identity: every kind of model validates on the same video ids in every fold, Stage 1 copies included', async () => {
  const listed = (await loadMetadata(join(dir, 'corpus', 'metadata.csv'))).rows.map((r) => r.video_path);
  for (const fold of [1, 2, 3]) {
    const ids = foldIds('logistic_regression', fold);
    assert.ok(ids.length > 0);
    for (const m of FOLDERS.slice(1)) assert.equal(foldIds(m, fold), ids, `${m} fold ${fold} validated on the same videos as logistic_regression`);
  }
  const all = [1, 2, 3].flatMap((f) => foldIds('naive_cnn', f));
  assert.is(all.length, 2 * listed.length, 'every original and its copy, once each');
  assert.equal(new Set(all), new Set([...listed, ...listed.map((p) => `${p}#aug1`)]), 'ids as the user listed the videos; a copy is its original plus the copy number');
  // The same id in every stage table and the frame of reference the pipeline carries.
  for (const t of ['stage1/augmented_metadata.parquet', 'stage2/features_metadata.parquet', 'stage3/scaled_metadata.parquet', 'stage4/features_scaled_metadata.parquet']) {
    const rows = await readTable(join(data, t));
    assert.equal(new Set(rows.map((r) => r.video_id)), new Set(all), t);
  }
});

test('any two models of the run compare, whatever their kind; the ensemble and the stack combine a feature and a deep model', () => {
  const c = compareModels(s5, 'logistic_regression', 'naive_cnn', { n: 200, seed: 0 });
  assert.is(c.videos, 24);
  assert.is(c.interval?.over, 'sources');
  const cli = runCli(['compare', 'stack:logistic_regression+naive_cnn', 'xgboost', '--output-dir', s5, '--bootstrap', '100']);
  assert.is(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /24 videos scored out of fold by both/);
  for (const m of FOLDERS.slice(3)) assert.ok(existsSync(join(s5, m, 'metrics.json')), m);
  const stackRows = parseCsv(readFileSync(join(s5, FOLDERS[4] as string, 'fold_1', 'stacker_training.csv'), 'utf8'));
  assert.ok(stackRows.length > 0 && stackRows.every((r) => !foldIds('logistic_regression', 1).includes(String(r.video_id))), 'the stacker never saw a validation video');
});

test('training is visible while it runs: metrics.jsonl and the epoch event at each epoch end, batch and grid-search events, MLflow curves', () => {
  const deepEpochs = liveEpochs.filter((e) => e.model === 'naive_cnn');
  assert.is(deepEpochs.length, 3 * deep.epochs);
  assert.ok(
    deepEpochs.every((e) => e.logged),
    'each epoch was in metrics.jsonl when its event fired',
  );
  const batches = events.filter((e): e is Extract<TrainEvent, { type: 'batch' }> => e.type === 'batch');
  assert.ok(batches.length >= 3 * deep.epochs, 'at least the last batch of every epoch');
  assert.ok(batches.every((b) => b.batch >= 1 && b.batch <= b.batches && b.clipsPerSecond > 0 && b.dataWait >= 0 && b.dataWait <= 1 && b.etaSeconds >= 0));
  assert.ok(batches.some((b) => b.batch === b.batches && b.etaSeconds === 0));
  const grid = events.filter((e): e is Extract<TrainEvent, { type: 'grid-candidate' }> => e.type === 'grid-candidate' && e.model === 'logistic_regression');
  assert.equal(
    grid.map((g) => g.params.C),
    [0.1, 1, 10],
  );
  assert.ok(grid.every((g) => g.candidates === 3 && g.foldScores.length === 3 && Number.isFinite(g.mean)));

  const deepRuns = mlflowRuns('naive_cnn');
  const fold1 = deepRuns.find((r) => r.name === 'fold_1');
  assert.equal(
    fold1?.metric('train/loss').map((m) => m.step),
    [1, 2],
    'one training-loss point per epoch, step = epoch',
  );
  for (const k of ['val/loss', 'val/auc', 'val/acc', 'train/lr']) assert.is(fold1?.metric(k).length, 2, k);
  assert.ok(
    deepRuns.every((r) => r.status === 3),
    'FINISHED',
  );
  assert.match(readFileSync(join(fold1?.dir as string, 'artifacts', 'results', 'predictions.csv'), 'utf8'), /^video_id,fold,label,prob,source_group\n/, 'MLflow keeps the predictions by video id');
  const xgbFold = mlflowRuns('xgboost').find((r) => r.name === 'fold_1');
  const rounds = xgbFold?.metric('val/logloss') ?? [];
  assert.ok(rounds.length > 1, 'the boosting rounds as steps');
  assert.equal(
    rounds.map((r) => r.step),
    rounds.map((_, i) => i + 1),
  );
  // metrics.jsonl: the rounds as steps too, and each fold's result apart from the curves at epoch 0.
  const xgbLines = readFileSync(join(s5, 'xgboost', 'fold_1', 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { epoch: number; metric: string });
  assert.is(xgbLines.filter((l) => l.metric === 'logloss').length, rounds.length);
  assert.ok(xgbLines.some((l) => l.epoch === 0 && l.metric === 'auc'));
});

test('the report covers every model: a headline row and a paired comparison for each, curves where there are epochs or rounds, and nothing wider than 1400 px', async () => {
  const r = await buildReport({ stage5Dir: s5, stage2Dir: dirs.stage2, output: join(dir, 'report.html') });
  assert.equal([...r.models].sort(), [...FOLDERS].sort());
  const html = readFileSync(r.output, 'utf8');
  for (const m of FOLDERS) assert.match(html, new RegExp(`<tr><td>${m.replace(/[+]/g, '\\+')}</td><td>0\\.\\d{3} \\(0\\.\\d{3}–`), `${m} has its out-of-fold AUC and interval in the headline`);
  assert.not.match(html, /not compared/, 'every model is paired with the best');
  assert.match(html, /TPR at 5% FPR/);
  assert.not.match(html, /<th>val_tpr_at_fpr_5<\/th>|<th>avg_val_f1<\/th>/, 'readable metric names');
  for (const m of ['naive_cnn', 'xgboost']) assert.ok(existsSync(join(s5, m, 'plots', 'training_curves.png')), m);
  assert.not.ok(existsSync(join(s5, 'logistic_regression', 'plots', 'training_curves.png')), 'no curve of single dots for a model without epochs');
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${join(dir, 'chromium')}`,
  ];
  const dom = spawnSync('chromium', [...flags, '--window-size=1400,1000', '--virtual-time-budget=10000', '--dump-dom', pathToFileURL(r.output).href], { timeout: 120_000, encoding: 'utf8' });
  assert.is(dom.status, 0, dom.stderr);
  assert.is(/data-too-wide="(\d+)"/.exec(dom.stdout)?.[1], '0', `wider than the page: ${/data-too-wide-first="([^"]*)"/.exec(dom.stdout)?.[1]}`);
});

test('cancelling: between grid candidates, and inside a deep fold, whose MLflow run and parent end KILLED', async () => {
  const out = join(dir, 'cancel');
  const ac = new AbortController();
  const seen: TrainEvent[] = [];
  const grid = await train(
    { ...base, models: ['logistic_regression'], outputDir: out, tracking: false, plots: false },
    {
      signal: ac.signal,
      onProgress: (e) => {
        seen.push(e);
        if (e.type === 'grid-candidate') ac.abort();
      },
    },
  ).catch((e: unknown) => e as Error & { code?: string });
  assert.is((grid as { code?: string }).code, 'ERR_ABORTED');
  assert.is(seen.filter((e) => e.type === 'grid-candidate').length, 1, 'stopped after the first candidate');
  const store = join(dir, 'cancel-mlruns');
  const ac2 = new AbortController();
  const deepRun = await train(
    { ...base, models: ['naive_cnn'], outputDir: out, tracking: true, trackingUri: store, plots: false },
    { signal: ac2.signal, onProgress: (e) => e.type === 'epoch' && ac2.abort() },
  ).catch((e: unknown) => e as Error & { code?: string });
  assert.is((deepRun as { code?: string }).code, 'ERR_ABORTED');
  const exp = readdirSync(store).find((e) => existsSync(join(store, e, 'meta.yaml')) && readFileSync(join(store, e, 'meta.yaml'), 'utf8').includes('name: naive_cnn')) as string;
  const statuses = readdirSync(join(store, exp))
    .filter((r) => r !== 'meta.yaml')
    .map((r) => Number(/^status: (\d+)$/m.exec(readFileSync(join(store, exp, r, 'meta.yaml'), 'utf8'))?.[1]));
  assert.equal(statuses, [5, 5], 'the fold run and its parent: KILLED');
});

test('the corpus clips decode without a duration warning; configuration and query mistakes say what to do', () => {
  for (const stage of ['stage2', 'stage4']) assert.not.match(readFileSync(join(dir, 'logs', `${stage}.log`), 'utf8'), /before its declared duration/, stage);
  const cfg = join(dir, 'run.yaml');
  writeFileSync(cfg, `models: [logistic_regression]\ndirs: { stage2: data/stage2, stage5: data/stage5 }\ntrain:\n  epochs: 3\n`);
  const typo = runCli(['train', '--config', cfg]);
  assert.is(typo.code, 1);
  assert.match(typo.stderr, /train: unknown option 'epochs': it belongs at train\.deep\.epochs/);
  writeFileSync(cfg, `models: [logistic_regression]\nnSplit: 3\ndirs: { stage2: data/stage2, stage5: data/stage5 }\n`);
  assert.match(runCli(['query', '--config', cfg, 'SELECT 1']).stderr, /unknown option 'nSplit' \(did you mean 'nSplits'\?\)/);
  writeFileSync(cfg, `models: [logistic_regression]\ndirs: { stage2: data/stage2, stage5: data/stage5 }\n`);
  const q = runCli(['query', '--config', cfg, '--json', 'SELECT COUNT(DISTINCT model_type) AS n FROM predictions']);
  assert.is(q.code, 0, q.stderr);
  assert.equal(JSON.parse(q.stdout), [{ n: FOLDERS.length }], 'the run found through its configuration');
  const c = runCli(['compare', 'naive_cnn', 'xgboost', '--config', cfg, '--bootstrap', '0']);
  assert.is(c.code, 0, c.stderr);
  const nowhere = runCli(['query', 'SELECT * FROM predictions', '--output-dir', join(dir, 'nope')], {
    FVC_STAGE1_OUTPUT_DIR: join(dir, 'nope1'),
    FVC_STAGE2_OUTPUT_DIR: join(dir, 'nope2'),
    FVC_STAGE3_OUTPUT_DIR: join(dir, 'nope3'),
    FVC_STAGE4_OUTPUT_DIR: join(dir, 'nope4'),
  });
  assert.is(nowhere.code, 1);
  assert.match(nowhere.stderr, /no run found: none of .*nope.* exists/);
  const col = runCli(['query', '--config', cfg, 'SELECT video FROM predictions']);
  assert.match(col.stderr, /columns of predictions: model_type, fold, video_id, label, prob, source_group/);
  // Special files as inputs, system folders as outputs: refused at once, never a hang.
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  assert.match(runCli(['train', '--config', fifo]).stderr, /fifo\.yaml: the run configuration is a FIFO \(named pipe\), not a regular file/);
  assert.match(runCli(['validate', '--metadata', fifo]).stderr, /fifo\.yaml: the table is a FIFO \(named pipe\), not a regular file/);
  assert.match(runCli(['stage2', '--metadata', join(dir, 'corpus', 'metadata.csv'), '--out', '/dev/fd/fvc-out']).stderr, /\/dev\/fd\/fvc-out: an output folder cannot be under \/dev, \/proc or \/sys/);
  // A project folder whose name holds a line break cannot reach an #SBATCH line.
  const odd = join(dir, 'odd\nname');
  mkdirSync(odd, { recursive: true });
  const render = runCli(['slurm', 'render', '--out', join(dir, 'odd-render'), '--metadata', join(dir, 'corpus', 'metadata.csv'), '--project-dir', odd]);
  assert.is(render.code, 1);
  assert.match(render.stderr, /SLURM option "--chdir=.*odd\\nname": holds a line break or NUL/);
  const table = join(dir, 'nolabel.csv');
  writeFileSync(table, 'video_path,is_fake\nx.mp4,1\n');
  assert.match(runCli(['validate', '--metadata', table]).stderr, /missing column 'label' \(columns found: video_path, is_fake\)/);
});

test('a changed model.json, or a fold file changed since training, never predicts: refused by name', async () => {
  const copy = join(dir, 'tampered');
  rmSync(copy, { recursive: true, force: true });
  cpSync(join(s5, 'logistic_regression'), copy, { recursive: true });
  const video = join(dir, 'corpus', (await loadMetadata(join(dir, 'corpus', 'metadata.csv'))).rows[0]?.video_path as string);
  const ok = runCli(['predict', video, '--model', join(copy, 'best_model'), '--json']);
  assert.is(ok.code, 0, ok.stderr);
  const model = join(copy, 'best_model', 'model.json');
  writeFileSync(model, readFileSync(model, 'utf8').replace('"fold": ', '"fold": 1'));
  const bad = runCli(['predict', video, '--model', join(copy, 'best_model')]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /model\.json: changed since it was written/);
  const fold = join(copy, 'fold_1', 'model.liblinear');
  writeFileSync(
    fold,
    readFileSync(fold, 'utf8').replace(/(\d)(\d)\n/, (_m, a: string, b: string) => `${a}${(Number(b) + 1) % 10}\n`),
  );
  const { exportFoldModel } = await import('../ts/train/best-model.js');
  const { resolveModel } = await import('../ts/train/registry.js');
  await exportFoldModel(join(copy, 'fold_1'), join(copy, 'exported'), resolveModel('logistic_regression', 'stage2')).then(
    () => assert.unreachable('a changed fold file was exported'),
    (e: Error) => assert.match(e.message, /fold_1\/model\.liblinear: damaged or replaced since it was saved/),
  );
  assert.not.ok(existsSync(join(copy, 'exported')), 'nothing exported');
});

test('outputs written before video ids are refused by name, never half-joined', () => {
  const old = join(dir, 'old');
  for (const m of ['a', 'b']) {
    mkdirSync(join(old, m, 'fold_1'), { recursive: true });
    writeFileSync(join(old, m, 'fold_1', 'predictions.csv'), `id,fold,label,prob,source_group\nvideos/x.mp4,1,0,0.2,x\nvideos/y.mp4,1,1,0.7,y\n`);
  }
  const c = runCli(['compare', 'a', 'b', '--output-dir', old]);
  assert.is(c.code, 1);
  assert.match(c.stderr, /written by an fvc before video ids .*retrain a \(fvc train --models a\)/);
  // Predictions read back are data: a probability outside [0, 1] or NaN is refused, never scored.
  for (const [m, bad] of [
    ['nan', 'nan'],
    ['big', '7.5'],
  ] as const) {
    mkdirSync(join(old, m, 'fold_1'), { recursive: true });
    writeFileSync(join(old, m, 'fold_1', 'predictions.csv'), `video_id,fold,label,prob,source_group\nx,1,0,0.2,x\ny,1,1,${bad},y\n`);
    assert.match(runCli(['compare', m, 'a', '--output-dir', old]).stderr, new RegExp(`line 3: probability '${bad.replace('.', '\\.')}' is not a number in \\[0, 1\\]`));
  }
  // An overflowing feature value is refused by row and column, not dropped with its column.
  const features = join(dir, 'features-inf.csv');
  writeFileSync(features, `id,label,a,b\n${Array.from({ length: 12 }, (_, i) => `v${i},${i % 2},${i === 5 ? '1e309' : i / 10},${i % 3}`).join('\n')}\n`);
  const inf = runCli(['train', '--models', 'logistic_regression', '--features', features, '--id-column', 'id', '--n-splits', '3', '--output-dir', join(dir, 'inf-out'), '--no-tracking', '--no-plots']);
  assert.is(inf.code, 1);
  assert.match(inf.stderr, /'a': row 6 holds '1e309', not a finite number/);
  const stage = join(dir, 'old-stage3.csv');
  writeFileSync(stage, 'video_path,label,original_video_path,scaled_frames\nvideos/x.mp4,0,../x.mp4,25\n');
  const v = runCli(['validate', '--metadata', stage]);
  assert.is(v.code, 1);
  assert.match(v.stderr, /written by an fvc before video ids \(no video_id column\).*rerun fvc stage3/s);
});

test.run();
