/**
 * Binary classification metrics from labels (0/1) and predicted P(fake), defined
 * exactly as scikit-learn computes them (tested against it to 1e-9): precision
 * etc. with zero_division=0, ROC-AUC with tied scores counted half, average
 * precision as sum over thresholds of (R_n - R_{n-1}) P_n, log loss with
 * probabilities clipped to [eps, 1 - eps]. Undefined values (AUC with one class)
 * are null, never NaN.
 */
export interface Metrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  precision_class0: number;
  recall_class0: number;
  f1_class0: number;
  precision_class1: number;
  recall_class1: number;
  f1_class1: number;
  roc_auc: number | null;
  average_precision: number | null;
  eer: number | null;
  log_loss: number;
  /** Fakes caught while at most 1%, 5%, 10% of real videos are flagged: the highest TPR on the ROC curve at FPR <= x. */
  tpr_at_fpr_1: number | null;
  tpr_at_fpr_5: number | null;
  tpr_at_fpr_10: number | null;
  /** Mean squared error of P(fake) (sklearn's brier_score_loss). */
  brier: number;
  /** Expected calibration error of P(fake) over 10 equal-width bins: sum of n_b/N |mean label - mean P(fake)|. */
  ece: number;
  /** [[tn, fp], [fn, tp]] as sklearn's confusion_matrix. */
  confusion_matrix: [[number, number], [number, number]];
  n: number;
}

const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/** Points of the ROC / PR curves at each distinct score, highest first: cumulative tp and fp. */
function thresholds(labels: ArrayLike<number>, scores: ArrayLike<number>): { tps: number[]; fps: number[] } {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  order.forEach((idx, k) => {
    if (labels[idx] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[idx]) {
      tps.push(tp);
      fps.push(fp);
    }
  });
  return { tps, fps };
}

export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  const N = fps.at(-1) ?? 0;
  if (P === 0 || N === 0) return null;
  let area = 0;
  let pt = 0;
  let pf = 0;
  for (let i = 0; i < tps.length; i++) {
    area += (((fps[i] as number) - pf) * ((tps[i] as number) + pt)) / 2;
    pt = tps[i] as number;
    pf = fps[i] as number;
  }
  return area / (P * N);
}

export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  if (P === 0) return null;
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < tps.length; i++) {
    const tp = tps[i] as number;
    const recall = tp / P;
    ap += (recall - prevRecall) * (tp / (tp + (fps[i] as number)));
    prevRecall = recall;
  }
  return ap;
}

/** The ROC curve as scikit-learn's roc_curve(drop_intermediate=False): from (0, 0), one point per distinct score. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): { fpr: number[]; tpr: number[] } {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  const N = fps.at(-1) ?? 0;
  return { fpr: [0, ...fps.map((f) => div(f, N))], tpr: [0, ...tps.map((t) => div(t, P))] };
}

/** The precision-recall curve, one point per distinct score from the highest, starting at recall 0, precision 1. */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): { recall: number[]; precision: number[] } {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  return { recall: [0, ...tps.map((t) => div(t, P))], precision: [1, ...tps.map((t, i) => div(t, t + (fps[i] as number)))] };
}

/**
 * Equal error rate on the full ROC curve (every distinct threshold, plus the
 * origin): the point where |FNR - FPR| is smallest, reported as their mean.
 */
export function equalErrorRate(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  const N = fps.at(-1) ?? 0;
  if (P === 0 || N === 0) return null;
  let best = { gap: Infinity, eer: 0 };
  const consider = (tp: number, fp: number) => {
    const fpr = fp / N;
    const fnr = 1 - tp / P;
    const gap = Math.abs(fnr - fpr);
    if (gap < best.gap) best = { gap, eer: (fpr + fnr) / 2 };
  };
  consider(0, 0);
  for (let i = 0; i < tps.length; i++) consider(tps[i] as number, fps[i] as number);
  return best.eer;
}

/** The highest true-positive rate at a false-positive rate of at most `maxFpr` (the origin included); null without both classes. */
export function tprAtFpr(labels: ArrayLike<number>, scores: ArrayLike<number>, maxFpr: number): number | null {
  const { tps, fps } = thresholds(labels, scores);
  const P = tps.at(-1) ?? 0;
  const N = fps.at(-1) ?? 0;
  if (P === 0 || N === 0) return null;
  let best = 0;
  for (let i = 0; i < tps.length; i++) if ((fps[i] as number) / N <= maxFpr + 1e-12) best = Math.max(best, (tps[i] as number) / P);
  return best;
}

/**
 * The decision threshold maximising Youden's J (TPR - FPR) on these scores: among the
 * distinct scores, predicting fake at or above it; the highest on ties (as argmax over
 * scikit-learn's roc_curve thresholds picks), and top score + 1 (flag nothing) when no
 * threshold beats J = 0. Null without both classes.
 */
export function youdenThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let P = 0;
  for (let i = 0; i < labels.length; i++) P += labels[i] === 1 ? 1 : 0;
  const N = labels.length - P;
  if (P === 0 || N === 0) return null;
  let tp = 0;
  let fp = 0;
  // Flagging nothing (J = 0) stays the choice unless some threshold beats it; scikit-learn puts that point at the top score + 1.
  let best = { j: 0, threshold: (scores[order[0] as number] as number) + 1 };
  order.forEach((idx, k) => {
    if (labels[idx] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[idx]) return;
    const j = tp / P - fp / N;
    if (j > best.j) best = { j, threshold: scores[idx] as number };
  });
  return best.threshold;
}

export function brierScore(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += ((probs[i] as number) - (labels[i] as number)) ** 2;
  return s / Math.max(1, labels.length);
}

/** Equal-width bins of P(fake) (a probability of 1 falls in the last): the gap between each bin's fake rate and mean P(fake), weighted by its share. */
export function expectedCalibrationError(labels: ArrayLike<number>, probs: ArrayLike<number>, bins = 10): number {
  const n = new Array<number>(bins).fill(0);
  const y = new Array<number>(bins).fill(0);
  const p = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const b = Math.min(bins - 1, Math.floor((probs[i] as number) * bins));
    n[b] = (n[b] as number) + 1;
    y[b] = (y[b] as number) + (labels[i] as number);
    p[b] = (p[b] as number) + (probs[i] as number);
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (n[b]) ece += Math.abs((y[b] as number) - (p[b] as number)) / Math.max(1, labels.length);
  return ece;
}

export function logLoss(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  const eps = Number.EPSILON;
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i] as number));
    s += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return s / Math.max(1, labels.length);
}

/** Every metric; a row is predicted fake when its probability is at least `threshold`. */
export function computeMetrics(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = 0.5): Metrics {
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const pred = (probs[i] as number) >= threshold ? 1 : 0;
    if (labels[i] === 1) {
      if (pred) tp++;
      else fn++;
    } else if (pred) fp++;
    else tn++;
  }
  const p1 = div(tp, tp + fp);
  const r1 = div(tp, tp + fn);
  const p0 = div(tn, tn + fn);
  const r0 = div(tn, tn + fp);
  return {
    accuracy: div(tp + tn, labels.length),
    precision: p1,
    recall: r1,
    f1: f1(p1, r1),
    precision_class0: p0,
    recall_class0: r0,
    f1_class0: f1(p0, r0),
    precision_class1: p1,
    recall_class1: r1,
    f1_class1: f1(p1, r1),
    roc_auc: rocAuc(labels, probs),
    average_precision: averagePrecision(labels, probs),
    eer: equalErrorRate(labels, probs),
    log_loss: logLoss(labels, probs),
    tpr_at_fpr_1: tprAtFpr(labels, probs, 0.01),
    tpr_at_fpr_5: tprAtFpr(labels, probs, 0.05),
    tpr_at_fpr_10: tprAtFpr(labels, probs, 0.1),
    brier: brierScore(labels, probs),
    ece: expectedCalibrationError(labels, probs),
    confusion_matrix: [
      [tn, fp],
      [fn, tp],
    ],
    n: labels.length,
  };
}

/** Video-level scores: the mean of each video's clip or frame scores, labels taken per video. */
export function videoLevel(ids: readonly string[], labels: ArrayLike<number>, probs: ArrayLike<number>): { ids: string[]; labels: number[]; probs: number[] } {
  const acc = new Map<string, { label: number; sum: number; n: number }>();
  ids.forEach((id, i) => {
    const a = acc.get(id) ?? { label: labels[i] as number, sum: 0, n: 0 };
    a.sum += probs[i] as number;
    a.n++;
    acc.set(id, a);
  });
  const out = { ids: [] as string[], labels: [] as number[], probs: [] as number[] };
  for (const [id, a] of acc) {
    out.ids.push(id);
    out.labels.push(a.label);
    out.probs.push(a.sum / a.n);
  }
  return out;
}
