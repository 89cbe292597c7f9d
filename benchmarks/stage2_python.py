"""Python peer for benchmarks/stage2.ts: Stage 2 as the seed's Python pipeline would
run it — PyAV samples N frames per video at native size (the same uniform
sampling as fvc, from decode_pyav.py), numpy computes the same 100 features (schema 2, each sample with its successor)
(test/features_reference.py) — over a list of videos, in a multiprocessing pool.

usage: /usr/bin/python3 stage2_python.py NUM_FRAMES WORKERS VIDEO...  -> JSON on stdout
"""
import json
import os
import sys
import time
from multiprocessing import Pool

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "test"))

import av  # noqa: E402
import numpy as np  # noqa: E402
from decode_pyav import sample_native  # noqa: E402
from features_reference import features  # noqa: E402


def one(args):
    path, count = args
    frames = sample_native(path, count, adjacent=True)
    with av.open(path) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or 0)
        bitrate = float(c.bit_rate or 0)
        return features(frames, bitrate, fps, s.width, s.height)


def main():
    count, workers = int(sys.argv[1]), int(sys.argv[2])
    jobs = [(p, count) for p in sys.argv[3:]]
    t0 = time.perf_counter()
    if workers == 1:
        out = [one(j) for j in jobs]
    else:
        with Pool(workers) as pool:
            out = pool.map(one, jobs)
    json.dump({"seconds": time.perf_counter() - t0, "videos": len(out)}, sys.stdout)


if __name__ == "__main__":
    main()
