/**
 * The seed's plot kinds as Vega-Lite specs, built from a run's outputs: training
 * curves, ROC and precision-recall curves, confusion matrix, prediction
 * distribution, cross-validation fold comparison, hyperparameter search, and the
 * comparison across models. Pure functions of the data.
 */
import { averagePrecision, prCurve, rocAuc, rocCurve } from '../evaluation/metrics.js';
import type { Spec } from './render.js';

export interface Prediction {
  fold: number;
  id: string;
  label: number;
  prob: number;
}

export interface LogPoint {
  fold: number;
  epoch: number;
  phase: string;
  metric: string;
  value: number;
}

export type FoldRow = Record<string, number | string | null>;

export interface GridResult {
  params: Record<string, unknown>;
  [score: string]: unknown;
}

const FOLD_METRICS = ['val_acc', 'val_f1', 'val_precision', 'val_recall', 'val_auc'] as const;
const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

/**
 * Loss, AUC and accuracy per epoch (deep models) or the early-stopping split's log
 * loss per boosting round (XGBoost), one line per fold and phase. Epoch 0 holds a
 * fold's final result, not a point on a curve; a model fitted in one go (logistic
 * regression, SVM) has no curve and gets null (its grid search is plotted instead).
 */
export function trainingCurves(model: string, log: LogPoint[]): Spec | null {
  const wanted = new Map([
    ['loss', 'loss'],
    ['logloss', 'log loss'],
    ['auc', 'AUC'],
    ['acc', 'accuracy'],
    ['accuracy', 'accuracy'],
    ['f1', 'F1'],
  ]);
  const points = log.filter((p) => p.epoch > 0 && wanted.has(p.metric));
  const steps = new Map<string, Set<number>>();
  for (const p of points) steps.set(`${p.fold} ${p.phase} ${p.metric}`, (steps.get(`${p.fold} ${p.phase} ${p.metric}`) ?? new Set()).add(p.epoch));
  if (![...steps.values()].some((e) => e.size > 1)) return null;
  const rounds = points.some((p) => p.metric === 'logloss');
  const values = points.map((p) => ({ ...p, metric: wanted.get(p.metric), series: `${p.phase} fold ${p.fold}`, fold: `fold ${p.fold}` }));
  const order = [...new Set(wanted.values())];
  return {
    title: `${model}: training curves`,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: order } },
    spec: {
      width: 220,
      height: 180,
      layer: [
        {
          mark: { type: 'line', point: !rounds },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: rounds ? 'boosting round' : 'epoch', axis: { tickMinStep: 1, format: 'd' } },
            y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
            color: { field: 'fold', type: 'nominal', title: 'fold' },
            strokeDash: { field: 'phase', type: 'nominal', title: 'phase' },
            detail: { field: 'series' },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** ROC and precision-recall of the pooled out-of-fold predictions, with AUC and AP, and per fold. */
export function rocPrCurves(model: string, preds: Prediction[], heading = `${model}: out-of-fold predictions`): Spec {
  const folds = [...new Set(preds.map((p) => p.fold))].sort((a, b) => a - b);
  // One source (an evaluation): one curve, not the same one twice.
  const all = folds.length > 1 ? 'all folds' : 'all';
  const groups = [{ name: all, rows: preds }, ...(folds.length > 1 ? folds.map((f) => ({ name: `fold ${f}`, rows: preds.filter((p) => p.fold === f) })) : [])];
  const roc: object[] = [];
  const pr: object[] = [];
  for (const g of groups) {
    const labels = g.rows.map((p) => p.label);
    const probs = g.rows.map((p) => p.prob);
    const r = rocCurve(labels, probs);
    r.fpr.forEach((x, i) => roc.push({ curve: g.name, fpr: x, tpr: r.tpr[i], order: i }));
    const c = prCurve(labels, probs);
    c.recall.forEach((x, i) => pr.push({ curve: g.name, recall: x, precision: c.precision[i], order: i }));
  }
  const labels = preds.map((p) => p.label);
  const probs = preds.map((p) => p.prob);
  const color = { field: 'curve', type: 'nominal', title: null, sort: groups.map((g) => g.name) };
  const size = { condition: { test: `datum.curve === '${all}'`, value: 3 }, value: 1 };
  return {
    title: heading,
    hconcat: [
      {
        title: `ROC (AUC ${fmt(rocAuc(labels, probs))})`,
        width: 260,
        height: 240,
        layer: [
          {
            data: {
              values: [
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ],
            },
            mark: { type: 'line', color: '#bbb', strokeDash: [4, 4] },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
          },
          {
            data: { values: roc },
            mark: 'line',
            encoding: {
              x: { field: 'fpr', type: 'quantitative', title: 'false positive rate' },
              y: { field: 'tpr', type: 'quantitative', title: 'true positive rate' },
              order: { field: 'order' },
              color,
              strokeWidth: size,
            },
          },
        ],
      },
      {
        title: `Precision-recall (AP ${fmt(averagePrecision(labels, probs))})`,
        width: 260,
        height: 240,
        data: { values: pr },
        mark: { type: 'line', interpolate: 'step-before' },
        encoding: { x: { field: 'recall', type: 'quantitative' }, y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] } }, order: { field: 'order' }, color, strokeWidth: size },
      },
    ],
  };
}

/** True against predicted label at the threshold, counts and row percentages. */
export function confusionMatrix(model: string, preds: Prediction[], threshold = 0.5): Spec {
  const names = ['real', 'fake'];
  const cells: object[] = [];
  for (const t of [0, 1]) {
    const row = preds.filter((p) => p.label === t);
    for (const q of [0, 1]) {
      const n = row.filter((p) => (p.prob >= threshold ? 1 : 0) === q).length;
      cells.push({ true: names[t], predicted: names[q], n, text: `${n} (${row.length ? ((100 * n) / row.length).toFixed(1) : '0.0'}%)` });
    }
  }
  return {
    title: `${model}: confusion matrix (threshold ${threshold})`,
    data: { values: cells },
    width: 300,
    height: 300,
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: names, title: 'predicted', axis: { labelFontSize: 14, titleFontSize: 14, labelAngle: 0 } },
      y: { field: 'true', type: 'nominal', sort: names, title: 'true', axis: { labelFontSize: 14, titleFontSize: 14 } },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'n', type: 'quantitative', scale: { scheme: 'blues' }, title: 'videos' } } },
      {
        mark: { type: 'text', fontSize: 18, fontWeight: 'bold' },
        encoding: { text: { field: 'text' }, color: { condition: { test: `datum.n > ${Math.max(...cells.map((c) => (c as { n: number }).n)) / 2}`, value: 'white' }, value: 'black' } },
      },
    ],
  };
}

/**
 * Reliability diagram: for 10 equal-width bins of P(fake) (the ECE's bins), the share
 * of fakes against the mean predicted probability, each point sized by its videos; a
 * calibrated model lies on the diagonal.
 */
export function reliabilityDiagram(model: string, preds: Prediction[]): Spec {
  const bins = Array.from({ length: 10 }, () => ({ n: 0, y: 0, p: 0 }));
  for (const q of preds) {
    const b = bins[Math.min(9, Math.floor(q.prob * 10))] as { n: number; y: number; p: number };
    b.n++;
    b.y += q.label;
    b.p += q.prob;
  }
  const points = bins.flatMap((b, i) => (b.n ? [{ bin: `${i / 10}-${(i + 1) / 10}`, predicted: b.p / b.n, observed: b.y / b.n, videos: b.n }] : []));
  const ece = bins.reduce((s, b) => s + Math.abs(b.y - b.p), 0) / Math.max(1, preds.length);
  const axis = (title: string) => ({ type: 'quantitative', title, scale: { domain: [0, 1] } });
  return {
    title: `${model}: reliability (ECE ${fmt(ece)})`,
    width: 300,
    height: 280,
    layer: [
      {
        data: {
          values: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
        mark: { type: 'line', color: '#bbb', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', ...axis('mean predicted P(fake)') }, y: { field: 'y', ...axis('share of fakes') } },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: false, color: '#4c78a8' },
        encoding: { x: { field: 'predicted', ...axis('mean predicted P(fake)') }, y: { field: 'observed', ...axis('share of fakes') } },
      },
      {
        data: { values: points },
        mark: { type: 'circle', color: '#4c78a8', opacity: 0.8 },
        encoding: { x: { field: 'predicted', type: 'quantitative' }, y: { field: 'observed', type: 'quantitative' }, size: { field: 'videos', type: 'quantitative', title: 'videos' } },
      },
    ],
  };
}

/** Histogram of P(fake) by true class, and a box plot per class. */
export function predictionDistribution(model: string, preds: Prediction[]): Spec {
  const values = preds.map((p) => ({ prob: p.prob, class: p.label === 1 ? 'fake' : 'real' }));
  const color = { field: 'class', type: 'nominal', sort: ['real', 'fake'], scale: { range: ['#4c78a8', '#e45756'] } };
  return {
    title: `${model}: predicted P(fake) by class`,
    data: { values },
    hconcat: [
      {
        width: 300,
        height: 220,
        mark: { type: 'bar', opacity: 0.6, binSpacing: 0 },
        encoding: {
          x: { field: 'prob', type: 'quantitative', bin: { extent: [0, 1], step: 0.05 }, title: 'P(fake)' },
          y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'videos' },
          color,
        },
      },
      {
        width: 160,
        height: 220,
        mark: { type: 'boxplot', extent: 1.5 },
        encoding: {
          x: { field: 'class', type: 'nominal', sort: ['real', 'fake'], title: null },
          y: { field: 'prob', type: 'quantitative', scale: { domain: [0, 1] }, title: 'P(fake)' },
          color: { ...color, legend: null },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

/** Each fold's validation metrics side by side. */
export function cvFoldComparison(model: string, folds: FoldRow[]): Spec {
  const values = folds.flatMap((f) => FOLD_METRICS.filter((m) => typeof f[m] === 'number').map((m) => ({ fold: `fold ${f.fold}`, metric: m.replace(/^val_/, ''), value: f[m] })));
  return {
    title: `${model}: cross-validation folds`,
    data: { values },
    width: 420,
    height: 240,
    mark: 'bar',
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, sort: FOLD_METRICS.map((m) => m.replace(/^val_/, '')) },
      xOffset: { field: 'fold' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'validation score' },
      color: { field: 'fold', type: 'nominal', title: null },
    },
  };
}

/** Mean (± std) cross-validated score of every grid point, best first. */
export function hyperparameterSearch(model: string, metric: string, results: GridResult[]): Spec {
  const values = results.map((r) => {
    const mean = Number(r[`mean_${metric}`]);
    const std = Number(r[`std_${metric}`] ?? 0);
    return {
      point:
        Object.entries(r.params)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || '(defaults)',
      mean,
      lo: mean - std,
      hi: mean + std,
    };
  });
  return {
    title: `${model}: hyperparameter search (mean ${metric} over folds)`,
    data: { values },
    width: 360,
    height: { step: 22 },
    encoding: { y: { field: 'point', type: 'nominal', sort: '-x', title: null } },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'mean', type: 'quantitative', scale: { domain: [0, 1] }, title: `mean ${metric}` } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  };
}

/** Mean (± std over folds) validation F1, AUC and accuracy of every model. */
export function modelComparison(folds: Array<FoldRow & { model_type: string }>): Spec {
  const metrics = ['val_f1', 'val_auc', 'val_acc'];
  const values: object[] = [];
  for (const model of [...new Set(folds.map((f) => f.model_type))])
    for (const m of metrics) {
      const xs = folds.filter((f) => f.model_type === model && typeof f[m] === 'number').map((f) => f[m] as number);
      if (!xs.length) continue;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      values.push({ model, metric: m.replace(/^val_/, ''), mean, lo: mean - std, hi: mean + std });
    }
  return {
    title: 'Models: mean validation score over folds (± std)',
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['f1', 'auc', 'acc'] } },
    spec: {
      width: 200,
      height: { step: 22 },
      encoding: { y: { field: 'model', type: 'nominal', title: null } },
      layer: [
        { mark: 'bar', encoding: { x: { field: 'mean', type: 'quantitative', scale: { domain: [0, 1] }, title: null }, color: { field: 'model', type: 'nominal', legend: null } } },
        { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
      ],
    },
  };
}
