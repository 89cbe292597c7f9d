import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeMetrics, prCurve, rocCurve, videoLevel, youdenThreshold } from '../ts/evaluation/metrics.js';
import { checkFolds, stratifiedGroupKFold } from '../ts/train/folds.js';
import { Rng } from '../ts/util/rng.js';
import { artifacts, root } from './helpers.js';

function cases() {
  const rng = new Rng(3);
  const out: Array<{ labels: number[]; probs: number[] }> = [];
  for (const n of [5, 20, 100, 1000]) {
    const labels = Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
    out.push({ labels, probs: labels.map((y) => Math.min(1, Math.max(0, 0.3 * y + 0.7 * rng.next()))) });
    // Coarse scores: many ties, as a tree model gives.
    out.push({ labels, probs: labels.map((y) => Math.round((0.2 * y + 0.8 * rng.next()) * 8) / 8) });
  }
  out.push({ labels: [0, 0, 1, 1], probs: [0, 1, 0, 1] });
  out.push({ labels: [1, 1, 1], probs: [0.9, 0.2, 0.6] }); // one class: AUC undefined
  out.push({ labels: [0, 1, 0, 1, 1], probs: [0.1, 0.9, 0.2, 0.8, 0.7] }); // perfect
  // Ties exactly at a cut-off: a tied group whose negatives bring the FPR to exactly 5%
  // (20 negatives) or 1% (100) counts its positives; one that passes it counts none.
  const tied = (groups: Array<[number, number, number]>) => {
    const labels: number[] = [];
    const probs: number[] = [];
    for (const [score, pos, neg] of groups)
      for (const y of [...Array<number>(pos).fill(1), ...Array<number>(neg).fill(0)]) {
        labels.push(y);
        probs.push(score);
      }
    return { labels, probs };
  };
  out.push(
    tied([
      [0.9, 3, 0],
      [0.8, 2, 1],
      [0.7, 1, 1],
      [0.4, 4, 18],
    ]),
  );
  out.push(
    tied([
      [0.95, 4, 0],
      [0.9, 3, 1],
      [0.85, 2, 2],
      [0.8, 1, 7],
      [0.3, 5, 90],
    ]),
  );
  return out;
}

test('every metric agrees with scikit-learn to 1e-9', () => {
  const all = cases();
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, 'metric-cases.json');
  writeFileSync(file, JSON.stringify(all));
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'test/metrics_reference.py'), file]).toString()) as Array<Record<string, unknown>>;
  all.forEach((c, i) => {
    const both = new Set(c.labels).size === 2;
    const roc = both ? rocCurve(c.labels, c.probs) : null;
    const pr = both ? prCurve(c.labels, c.probs) : null;
    const ours = {
      ...computeMetrics(c.labels, c.probs),
      youden_threshold: youdenThreshold(c.labels, c.probs),
      roc_fpr: roc?.fpr ?? null,
      roc_tpr: roc?.tpr ?? null,
      pr_precision: pr?.precision ?? null,
      pr_recall: pr?.recall ?? null,
    } as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(ref[i] as Record<string, unknown>)) {
      const o = ours[k];
      if (Array.isArray(v) && Array.isArray(o) && typeof v[0] === 'number')
        v.forEach((x, j) => assert.ok(Math.abs((o[j] as number) - (x as number)) <= 1e-12, `case ${i} ${k}[${j}]: ${o[j]} vs sklearn ${x}`));
      if (Array.isArray(v) && k !== 'confusion_matrix') assert.is((o as unknown[]).length, v.length, `case ${i} ${k}: points`);
      if (v === null || Array.isArray(v)) {
        if (k === 'confusion_matrix' || v === null) assert.equal(o, v, `case ${i} ${k}`);
      } else assert.ok(Math.abs((o as number) - (v as number)) <= 1e-9, `case ${i} ${k}: ${o} vs sklearn ${v}`);
    }
  });
});

test('video-level scores average the clips of each video, in first-seen order, with the first label', () => {
  const v = videoLevel(['a', 'b', 'a', 'c', 'a'], [1, 0, 1, 0, 1], [0.2, 0.5, 0.6, 0.9, 0.7]);
  assert.equal(v.ids, ['a', 'b', 'c']);
  assert.equal(v.labels, [1, 0, 0]);
  assert.ok(Math.abs((v.probs[0] as number) - 0.5) < 1e-12 && v.probs[1] === 0.5 && v.probs[2] === 0.9, JSON.stringify(v.probs));
});

test('group-aware stratified folds: groups never straddle, classes stay balanced, seeds reproduce', () => {
  const rng = new Rng(9);
  const labels: number[] = [];
  const groups: string[] = [];
  for (let g = 0; g < 60; g++) {
    const size = 1 + Math.floor(rng.next() * 4);
    const fake = rng.next() < 0.5 ? 1 : 0;
    for (let k = 0; k < size; k++) {
      labels.push(k === 0 ? 0 : fake); // a real source and its fakes or copies share the group
      groups.push(`g${g}`);
    }
  }
  const folds = stratifiedGroupKFold(labels, groups, 5, 42);
  assert.is(folds.length, 5);
  const seen = new Map<string, number>();
  const all = folds.flatMap((f) => f.val);
  assert.is(all.length, labels.length, 'every row validated exactly once');
  assert.is(new Set(all).size, labels.length);
  for (const f of folds) {
    for (const i of f.val) {
      const g = groups[i] as string;
      assert.ok(!seen.has(g) || seen.get(g) === f.fold, `group ${g} in two folds`);
      seen.set(g, f.fold);
    }
    const share = f.balance.val.fake / (f.balance.val.fake + f.balance.val.real);
    const overall = labels.filter((y) => y === 1).length / labels.length;
    assert.ok(Math.abs(share - overall) < 0.1, `fold ${f.fold} fake share ${share.toFixed(2)} vs ${overall.toFixed(2)}`);
  }
  assert.equal(stratifiedGroupKFold(labels, groups, 5, 42), folds);
  assert.not.equal(
    stratifiedGroupKFold(labels, groups, 5, 43).map((f) => f.val),
    folds.map((f) => f.val),
  );
  assert.equal(checkFolds(folds), []);
  assert.throws(() => stratifiedGroupKFold([0, 1, 0], ['a', 'a', 'b'], 3, 1), /2 group\(s\).*3 folds/);
});

test.run();
