"""Independent references for test/stats.test.ts: DeLong's test of two correlated ROC
AUCs in its matrix form (DeLong, DeLong & Clarke-Pearson 1988: structural components,
their covariance matrices S10 and S01, var = c' (S10/m + S01/n) c with c = (1, -1)),
scipy's normal tail, and scikit-learn's AUC.

usage: /usr/bin/python3 stats_reference.py CASES.json -> JSON on stdout
"""
import json
import sys

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score


def components(y, s):
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def delong(y, a, b):
    v10a, v01a = components(y, a)
    v10b, v01b = components(y, b)
    m, n = len(v10a), len(v01a)
    S = np.cov(np.vstack([v10a, v10b])) / m + np.cov(np.vstack([v01a, v01b])) / n
    c = np.array([1.0, -1.0])
    se = float(np.sqrt(c @ S @ c))
    diff = float(v10a.mean() - v10b.mean())
    z = diff / se
    return {"aucA": roc_auc_score(y, a), "aucB": roc_auc_score(y, b), "difference": diff, "se": se, "z": z, "p": float(2 * norm.sf(abs(z)))}


cases = json.load(open(sys.argv[1]))
out = {
    "sf": [float(norm.sf(z)) for z in cases["z"]],
    "delong": [delong(np.array(c["labels"]), np.array(c["a"], dtype=float), np.array(c["b"], dtype=float)) for c in cases["delong"]],
}
json.dump(out, sys.stdout)
