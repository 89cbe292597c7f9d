"""Python peer for benchmarks/xgboost.ts: python3-xgboost training with the same data
(an .npy [rows, cols + 1], label last) and parameters, timed in process over what
fvc's fitModel does: build the DMatrix, train, save the JSON model.

usage: /usr/bin/python3 xgboost_python.py DATA.npy PARAMS.json REPEATS -> JSON on stdout
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb

data = np.load(sys.argv[1])
params = json.load(open(sys.argv[2]))
rounds = int(params.pop("num_boost_round"))
out = sys.argv[1] + ".model.json"
runs = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    dtrain = xgb.DMatrix(data[:, :-1].astype(np.float32), label=data[:, -1])
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    booster.save_model(out)
    runs.append(time.perf_counter() - t0)
p = booster.predict(dtrain)
json.dump({"seconds": runs, "version": xgb.__version__, "first_probs": p[:5].tolist()}, sys.stdout)
