/**
 * Uncertainty: DeLong's test and the normal tail against an independent Python
 * implementation (numpy's matrix form, scipy, scikit-learn), bootstrap intervals that
 * resample whole groups reproducibly, and `fvc compare` on two trained models.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chanceLine, chanceVerdict } from '../ts/evaluation/chance.js';
import { compareModels, outOfFoldPredictions } from '../ts/evaluation/compare.js';
import { train } from '../ts/train/engine.js';
import { rocAuc } from '../ts/evaluation/metrics.js';
import { bootstrapInterval, delongTest, normalSf } from '../ts/evaluation/stats.js';
import { Rng } from '../ts/util/rng.js';
import { artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'stats');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
});

test("DeLong's test and the normal tail equal the Python reference (1e-9)", () => {
  const rng = new Rng(4);
  const delong = [20, 60, 300].flatMap((n) => {
    const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const a = labels.map((y) => 0.6 * y + rng.next());
    const b = labels.map((y, i) => 0.3 * y + 0.5 * (a[i] as number) + 0.5 * rng.next());
    // Coarse scores with many ties, as trees give.
    const c = a.map((x) => Math.round(x * 4) / 4);
    return [
      { labels, a, b },
      { labels, a: c, b },
    ];
  });
  const z = [0, 0.3, 1, 1.959963984540054, 3, 5, 8.5];
  const file = join(dir, 'cases.json');
  writeFileSync(file, JSON.stringify({ z, delong }));
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'test', 'stats_reference.py'), file]).toString());
  z.forEach((x, i) => assert.ok(Math.abs(normalSf(x) - ref.sf[i]) <= 1e-9 * Math.max(ref.sf[i], 1e-300) + 1e-300, `sf(${x}): ${normalSf(x)} vs ${ref.sf[i]}`));
  delong.forEach((c, i) => {
    const ours = delongTest(c.labels, c.a, c.b) as unknown as Record<string, number>;
    for (const k of ['aucA', 'aucB', 'difference', 'se', 'z', 'p'])
      assert.ok(Math.abs((ours[k] as number) - ref.delong[i][k]) <= 1e-9 * Math.max(1, Math.abs(ref.delong[i][k])), `case ${i} ${k}: ${ours[k]} vs ${ref.delong[i][k]}`);
  });
});

test('bootstrap intervals resample whole groups, reproduce with a seed and hold the estimate', () => {
  const rng = new Rng(8);
  const n = 200;
  const labels = Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 0));
  const probs = labels.map((y) => 0.4 * y + 0.6 * rng.next());
  const groups = labels.map((_, i) => `g${Math.floor(i / 4)}`); // four rows per source
  const auc = (rows: number[]) =>
    rocAuc(
      rows.map((i) => labels[i] as number),
      rows.map((i) => probs[i] as number),
    );
  const seen: number[][] = [];
  const ci = bootstrapInterval(groups, (rows) => (seen.push(rows), auc(rows)), { n: 300, seed: 1 });
  assert.ok(ci && ci.low < (auc([...labels.keys()]) as number) && (auc([...labels.keys()]) as number) < ci.high, JSON.stringify(ci));
  for (const rows of seen.slice(0, 20))
    for (let k = 0; k < rows.length; k += 4)
      assert.equal(
        rows.slice(k, k + 4).map((i) => groups[i]),
        new Array(4).fill(groups[rows[k] as number]),
        'a group is drawn whole',
      );
  assert.equal(bootstrapInterval(groups, auc, { n: 300, seed: 1 }), ci, 'same seed, same interval');
});

test("fvc compare: two models on the same folds, their out-of-fold AUCs and DeLong's p; models on different videos are refused", async () => {
  const table = join(dir, 'features.csv');
  const rng = new Rng(2);
  const lines = ['id,group,label,a,b'];
  for (let i = 0; i < 120; i++) {
    const y = i % 2;
    lines.push(`v${i},g${Math.floor(i / 2)},${y},${y + 1.2 * rng.next()},${rng.next()}`);
  }
  writeFileSync(table, `${lines.join('\n')}\n`);
  const out = join(dir, 'stage5');
  const features = { path: table, labelColumn: 'label', groupColumn: 'group', idColumn: 'id' };
  await train({ models: ['logistic_regression', 'xgboost'], features, nSplits: 3, outputDir: out, tracking: false, plots: false, quiet: true });
  const r = compareModels(out, 'logistic_regression', 'xgboost', { n: 200, seed: 3 });
  assert.is(r.videos, 120);
  assert.equal([r.interval?.over, r.interval?.units], ['sources', 60], 'fvc train records each video source (the group column), and the interval draws whole sources');
  const a = outOfFoldPredictions(out, 'logistic_regression');
  const ids = [...a.keys()].sort();
  assert.ok(
    Math.abs(
      r.aucA -
        (rocAuc(
          ids.map((id) => a.get(id)?.label as number),
          ids.map((id) => a.get(id)?.prob as number),
        ) as number),
    ) < 1e-12,
  );
  assert.ok(r.p >= 0 && r.p <= 1 && r.interval !== null && r.interval.low <= r.difference && r.difference <= r.interval.high, JSON.stringify(r));
  const cli = runCli(['compare', 'logistic_regression', 'xgboost', '--output-dir', out, '--bootstrap', '200', '--seed', '3', '--json']);
  assert.is(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout), JSON.parse(JSON.stringify(r)));

  writeFileSync(join(dir, 'half.csv'), `${lines.slice(0, 61).join('\n')}\n`);
  await train({ models: ['svm'], features: { ...features, path: join(dir, 'half.csv') }, nSplits: 3, outputDir: out, tracking: false, plots: false, quiet: true });
  assert.throws(() => compareModels(out, 'logistic_regression', 'svm'), /scored different videos \(60 only by logistic_regression, 0 only by svm\)/);
});

test('a model is called at chance when its out-of-fold AUC interval reaches 0.5, and above chance when it does not', () => {
  const dir = join(artifacts, 'stats-chance');
  rmSync(dir, { recursive: true, force: true });
  const rng = new Rng(3);
  for (const [model, signal] of [
    ['informative', 2],
    ['noise', 0],
  ] as const)
    for (const fold of [1, 2]) {
      mkdirSync(join(dir, model, `fold_${fold}`), { recursive: true });
      const lines = Array.from({ length: 60 }, (_, i) => {
        const y = i % 2;
        return `v${fold}_${i},${fold},${y},${1 / (1 + Math.exp(-(signal * (y - 0.5) + rng.next() - 0.5)))}`;
      });
      writeFileSync(join(dir, model, `fold_${fold}`, 'predictions.csv'), `video_id,fold,label,prob\n${lines.join('\n')}\n`);
    }
  const good = chanceVerdict(dir, 'informative');
  const noise = chanceVerdict(dir, 'noise');
  assert.is(good.videos, 120);
  assert.ok(!good.atChance && (good.low ?? 0) > 0.5, JSON.stringify(good));
  assert.ok(noise.atChance && (noise.low ?? 1) <= 0.5 && (noise.high ?? 0) >= 0.5, JSON.stringify(noise));
  assert.match(chanceLine(noise), /^noise: out-of-fold AUC 0\.\d{3} \(95% CI 0\.\d{3}-0\.\d{3}, 120 videos\): AT CHANCE/);
  assert.match(chanceLine(good), /above chance$/);
  assert.is(noise.over, 'videos', 'predictions saved without source_group: videos are the unit');
  assert.ok(!good.weak && !noise.weak);
  // A small real signal over many videos: its interval clears 0.5, its AUC stays below 0.60.
  for (const fold of [1, 2]) {
    mkdirSync(join(dir, 'slight', `fold_${fold}`), { recursive: true });
    const lines = Array.from({ length: 1000 }, (_, i) => `s${fold}_${i},${fold},${i % 2},${(rng.next() + 0.08 * (i % 2)) / 1.08}`);
    writeFileSync(join(dir, 'slight', `fold_${fold}`, 'predictions.csv'), `video_id,fold,label,prob\n${lines.join('\n')}\n`);
  }
  const slight = chanceVerdict(dir, 'slight');
  assert.ok(!slight.atChance && (slight.low ?? 0) > 0.5 && (slight.auc ?? 1) < 0.6, JSON.stringify(slight));
  assert.ok(slight.weak, 'computed from the predictions, not set by hand');
  assert.match(chanceLine(slight), /^slight: .*: above chance, but weakly \(AUC below 0\.60\)$/);
});

test('out-of-fold intervals resample whole sources: clips of one source move together, so their interval is wider than one over videos', () => {
  const dir = join(artifacts, 'stats-sources');
  rmSync(dir, { recursive: true, force: true });
  const rng = new Rng(4);
  // 24 sources of 6 clips each; a source's clips share their label and most of their score.
  const rows = Array.from({ length: 24 }, (_, g) => {
    const y = g % 2;
    const shared = 1.2 * (y - 0.5) + 1.5 * (rng.next() - 0.5);
    return Array.from({ length: 6 }, (_, k) => ({ id: `s${g}_${k}`, fold: (g % 3) + 1, y, prob: 1 / (1 + Math.exp(-(shared + 0.1 * (rng.next() - 0.5)))), group: `s${g}` }));
  }).flat();
  for (const [model, withGroup] of [
    ['grouped', true],
    ['ungrouped', false],
  ] as const)
    for (const fold of [1, 2, 3]) {
      mkdirSync(join(dir, model, `fold_${fold}`), { recursive: true });
      const lines = rows.filter((r) => r.fold === fold).map((r) => `${r.id},${fold},${r.y},${r.prob}${withGroup ? `,${r.group}` : ''}`);
      writeFileSync(join(dir, model, `fold_${fold}`, 'predictions.csv'), `video_id,fold,label,prob${withGroup ? ',source_group' : ''}\n${lines.join('\n')}\n`);
    }
  const grouped = chanceVerdict(dir, 'grouped');
  const ungrouped = chanceVerdict(dir, 'ungrouped');
  assert.is(grouped.auc, ungrouped.auc, 'the same predictions');
  assert.equal([grouped.over, grouped.units, ungrouped.over, ungrouped.units], ['sources', 24, 'videos', 144]);
  const width = (v: typeof grouped) => (v.high as number) - (v.low as number);
  assert.ok(width(grouped) > 1.5 * width(ungrouped), `sources ${width(grouped)} against videos ${width(ungrouped)}`);
  assert.match(chanceLine(grouped), /144 videos, resampling 24 sources\)/);
  // A group column naming each video alone (no sources known) is resampled as, and called, videos.
  mkdirSync(join(dir, 'alone', 'fold_1'), { recursive: true });
  writeFileSync(join(dir, 'alone', 'fold_1', 'predictions.csv'), `video_id,fold,label,prob,source_group\n${rows.map((r) => `${r.id},1,${r.y},${r.prob},${r.id}`).join('\n')}\n`);
  const alone = chanceVerdict(dir, 'alone');
  assert.equal([alone.over, alone.units], ['videos', 144]);
  const c = compareModels(dir, 'grouped', 'grouped', { n: 100, seed: 1 });
  assert.equal([c.interval?.over, c.interval?.units], ['sources', 24]);
});

test.run();
