"""scikit-learn's metrics on the predictions in a JSON file (list of {labels, probs}),
for test/metrics.test.ts. EER on roc_curve(drop_intermediate=False), the point where
|FNR - FPR| is smallest, reported as their mean.

usage: /usr/bin/python3 metrics_reference.py CASES.json -> JSON list on stdout
"""
import json
import sys

import numpy as np
from sklearn import metrics as m


def one(case):
    y = np.array(case["labels"], dtype=int)
    p = np.array(case["probs"], dtype=float)
    pred = (p >= 0.5).astype(int)
    pr, rc, f1, _ = m.precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    out = {
        "accuracy": m.accuracy_score(y, pred),
        "precision": m.precision_score(y, pred, zero_division=0),
        "recall": m.recall_score(y, pred, zero_division=0),
        "f1": m.f1_score(y, pred, zero_division=0),
        "precision_class0": pr[0], "recall_class0": rc[0], "f1_class0": f1[0],
        "precision_class1": pr[1], "recall_class1": rc[1], "f1_class1": f1[1],
        "log_loss": m.log_loss(y, p, labels=[0, 1]),
        "confusion_matrix": m.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
    }
    # AP needs a positive, ROC-AUC and EER need both classes; fvc reports null otherwise.
    out["average_precision"] = m.average_precision_score(y, p) if y.sum() > 0 else None
    if len(set(y.tolist())) == 2:
        out["roc_auc"] = m.roc_auc_score(y, p)
        fpr, tpr, _ = m.roc_curve(y, p, drop_intermediate=False)
        fnr = 1 - tpr
        i = int(np.nanargmin(np.abs(fnr - fpr)))
        out["eer"] = (fpr[i] + fnr[i]) / 2
        for x in (1, 5, 10):
            out[f"tpr_at_fpr_{x}"] = tpr[fpr <= x / 100 + 1e-12].max()
        _, _, thr = m.roc_curve(y, p, drop_intermediate=False)
        out["youden_threshold"] = thr[int(np.argmax(tpr - fpr))]
        out["roc_fpr"], out["roc_tpr"] = fpr.tolist(), tpr.tolist()
        precision, recall, _ = m.precision_recall_curve(y, p)
        # scikit-learn lists them from full recall down; fvc from the top score up.
        out["pr_precision"], out["pr_recall"] = precision[::-1].tolist(), recall[::-1].tolist()
    else:
        out["youden_threshold"] = None
        out["roc_auc"] = out["eer"] = None
        out["roc_fpr"] = out["roc_tpr"] = out["pr_precision"] = out["pr_recall"] = None
        for x in (1, 5, 10):
            out[f"tpr_at_fpr_{x}"] = None
    out["brier"] = m.brier_score_loss(y, p)
    # Expected calibration error, computed directly (scikit-learn has calibration_curve but no ECE).
    b = np.minimum((p * 10).astype(int), 9)
    out["ece"] = sum(abs(y[b == k].sum() - p[b == k].sum()) for k in range(10)) / len(y)
    return {k: (v if v is None or isinstance(v, list) else float(v)) for k, v in out.items()}


json.dump([one(c) for c in json.load(open(sys.argv[1]))], sys.stdout)
