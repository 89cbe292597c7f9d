"""PyAV peer for benchmarks/decode.ts: the same uniform sampling as fvc (the frame
on screen at the centre of each of N equal segments), seek to the keyframe before
each target and decode forward, letterboxed to a square with numpy.

usage: /usr/bin/python3 decode_pyav.py COUNT SIZE REPEATS VIDEO...  -> JSON on stdout
"""
import json
import sys
import time

import av
import numpy as np


def letterbox(frame, size):
    w, h = frame.width, frame.height
    scale = min(size / w, size / h)
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    rgb = frame.reformat(width=cw, height=ch, format="rgb24", interpolation="BILINEAR").to_ndarray()
    out = np.zeros((size, size, 3), dtype=np.uint8)
    oy, ox = (size - ch) // 2, (size - cw) // 2
    out[oy:oy + ch, ox:ox + cw] = rgb
    return out


def sample(path, count, size):
    return sample_frames(path, count, lambda f: letterbox(f, size))


def sample_native(path, count, adjacent=False):
    """The same sampling at the stream's own size (what Stage 2 computes features on);
    adjacent: each sample followed by the stream's next frame, as fvc's Stage 2 does."""
    return sample_frames(path, count, lambda f: f.to_ndarray(format="rgb24"), adjacent)[0]


def sample_frames(path, count, convert, adjacent=False):
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads, as fvc uses
        tb = stream.time_base
        start = stream.start_time or 0
        duration = stream.duration
        targets = [start + int((2 * i + 1) * duration / (2 * count)) for i in range(count)]
        if adjacent:
            step = max(1, round(1 / (float(stream.average_rate) * tb)))
            targets = [t for i, s in enumerate(targets) for t in (s, min(s + step, targets[i + 1] if i + 1 < count else s + step))]
        frames, times = [], []
        decoder = None
        prev = None
        for target in targets:
            if prev is not None and prev.pts <= target and decoder is not None:
                pass  # keep decoding forward from where we are
            else:
                container.seek(target, stream=stream, backward=True, any_frame=False)
                decoder = container.decode(stream)
                prev = None
            chosen = None
            for frame in decoder:
                if frame.pts is not None and frame.pts > target:
                    chosen = prev if prev is not None else frame
                    prev = frame
                    break
                prev = frame
            if chosen is None:
                chosen = prev
            frames.append(convert(chosen))
            times.append(float(chosen.pts * tb))
        # Close the suspended decode generator before the container: leaving it to
        # the garbage collector after close() can deadlock PyAV's frame threads.
        if decoder is not None:
            decoder.close()
        return np.stack(frames), times


def main():
    count, size, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    results = {}
    for path in sys.argv[4:]:
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            arr, times = sample(path, count, size)
            runs.append(time.perf_counter() - t0)
        results[path] = {"seconds": runs, "timestamps": times, "shape": list(arr.shape)}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
