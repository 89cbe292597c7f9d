"""Independent numpy implementation of fvc's Stage 2 handcrafted features (schema 3; the
motion features take OpenCV's Farneback flow from Python's cv2 and do the rest in numpy),
used by test/features.test.ts. Reads the frames fvc sampled with their successors (an
.npy [2N, H, W, 3] uint8, interleaved: sample, next frame, ...) plus the codec facts,
prints the feature dict as JSON. Float64 throughout; borders reflect without repeating
the edge (OpenCV's BORDER_REFLECT_101 = numpy 'reflect'). Definitions: README
"Handcrafted features" and "Local features".

usage: /usr/bin/python3 features_reference.py FRAMES.npy BITRATE FPS WIDTH HEIGHT
"""
import json
import math
import sys

import numpy as np


def conv3(img, k):
    p = np.pad(img, 1, mode="reflect")
    h, w = img.shape
    out = np.zeros_like(img)
    for dy in range(3):
        for dx in range(3):
            out += k[dy, dx] * p[dy:dy + h, dx:dx + w]
    return out


def dct_matrix():
    c = np.zeros((8, 8))
    for k in range(8):
        a = math.sqrt(1 / 8) if k == 0 else math.sqrt(2 / 8)
        for n in range(8):
            c[k, n] = a * math.cos(math.pi * (2 * n + 1) * k / 16)
    return c


SRM = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], dtype=np.float64) / 4
LAP = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
C = dct_matrix()


def frame_stats(g):
    r = conv3(g, SRM)
    out = [np.mean(r * r), np.mean(r), np.std(r)]
    bh, bw = g.shape[0] // 8, g.shape[1] // 8
    blocks = (g[: bh * 8, : bw * 8] - 128).reshape(bh, 8, bw, 8).transpose(0, 2, 1, 3)
    coeff = C @ blocks @ C.T
    dc = coeff[:, :, 0, 0].ravel()
    ac = np.abs(coeff.reshape(bh, bw, 64)[:, :, 1:]).ravel()
    out += [dc.mean(), dc.std(), ac.mean(), ac.std(), np.mean(ac * ac)]
    out.append(np.var(conv3(g, LAP)))
    gx, gy = conv3(g, SOBEL_X), conv3(g, SOBEL_X.T)
    mag = np.sqrt(gx * gx + gy * gy)
    out += [mag.mean(), mag.std()]
    dh = np.abs(np.diff(g, axis=1))  # pair (x, x+1) straddles the grid when (x+1) % 8 == 0
    dv = np.abs(np.diff(g, axis=0))
    hb = (np.arange(1, g.shape[1]) % 8) == 0
    vb = (np.arange(1, g.shape[0]) % 8) == 0
    boundary = np.concatenate([dh[:, hb].ravel(), dv[vb, :].ravel()])
    interior = np.concatenate([dh[:, ~hb].ravel(), dv[~vb, :].ravel()])
    out += [boundary.mean(), interior.mean(), boundary.mean() - interior.mean()]
    return out, r


NAMES = ["noise_energy", "noise_mean", "noise_std", "dct_dc_mean", "dct_dc_std", "dct_ac_mean", "dct_ac_std",
         "dct_ac_energy", "laplacian_var", "sobel_mean", "sobel_std", "block_boundary_diff",
         "block_interior_diff", "blockiness"]


RATIO_EPS = 1e-3
LOCAL_MAPS = ["noise", "dct_ac", "laplacian", "sobel", "blockiness"]
SUMMARIES = ["cv", "max_ratio", "min_ratio", "top_share", "entropy"]


def grid(h, w):
    cell = 8 * max(1, math.floor(min(w, h) / 64 + 0.5))
    return cell, h // cell, w // cell


def cell_means(m, cell, rows, cols):
    return m[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3)).ravel()


def summarise(m):
    n = m.size
    total, mean, med = m.sum(), m.mean(), np.median(m)
    top = math.ceil(n / 10)
    p = m[m > 0] / total if total > 0 else np.array([])
    return [
        m.std() / mean if mean > 0 else 0.0,
        math.log((m.max() + RATIO_EPS) / (med + RATIO_EPS)),
        math.log((m.min() + RATIO_EPS) / (med + RATIO_EPS)),
        np.sort(m)[::-1][:top].sum() / total if total > 0 else top / n,
        float(-(p * np.log(p)).sum() / math.log(n)) if total > 0 else 1.0,
    ]


def local_maps(g, cell, rows, cols):
    H, W = g.shape
    hc, wc = rows * cell, cols * cell
    cm = lambda m: cell_means(m, cell, rows, cols)
    r = conv3(g, SRM)
    maps = [cm(r * r)]
    blocks = (g[:hc, :wc] - 128).reshape(hc // 8, 8, wc // 8, 8).transpose(0, 2, 1, 3)
    coeff = C @ blocks @ C.T
    energy = ((coeff ** 2).sum(axis=(2, 3)) - coeff[:, :, 0, 0] ** 2) / 63  # per 8x8 block
    k = cell // 8
    maps.append(energy.reshape(rows, k, cols, k).mean(axis=(1, 3)).ravel())
    lap = conv3(g, LAP)
    maps.append(np.maximum(0, cm(lap * lap) - cm(lap) ** 2))
    gx, gy = conv3(g, SOBEL_X), conv3(g, SOBEL_X.T)
    maps.append(cm(np.sqrt(gx * gx + gy * gy)))
    # Pairs whose first pixel lies in the covered area; the second may lie outside it.
    sums = {key: np.zeros((hc, wc)) for key in ("b", "i", "nb", "ni")}
    y, x = np.mgrid[0:hc, 0:wc]
    for d, valid, on_grid in (
        (np.abs(np.diff(g, axis=1)), x + 1 < W, (x + 1) % 8 == 0),
        (np.abs(np.diff(g, axis=0)), y + 1 < H, (y + 1) % 8 == 0),
    ):
        v = np.zeros((hc, wc))
        v[: min(hc, d.shape[0]), : min(wc, d.shape[1])] = d[:hc, :wc]
        sums["b"] += np.where(valid & on_grid, v, 0)
        sums["i"] += np.where(valid & ~on_grid, v, 0)
        sums["nb"] += valid & on_grid
        sums["ni"] += valid & ~on_grid
    s = {key: val.reshape(rows, cell, cols, cell).sum(axis=(1, 3)).ravel() for key, val in sums.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(s["nb"] > 0, s["b"] / s["nb"], 0)
        i = np.where(s["ni"] > 0, s["i"] / s["ni"], 0)
    maps.append((1 + b) / (1 + i))
    return maps, cm(g)


def mean_std(rows, feats, names):
    rows = np.array(rows)
    for j, n in enumerate(names):
        feats[n + "_mean"] = rows[:, j].mean()
        feats[n + "_std"] = rows[:, j].std()


def local_features(grays, nexts, feats):
    h, w = grays[0].shape
    cell, rows, cols = grid(h, w)
    names = [f"local_{m}_{k}" for m in LOCAL_MAPS for k in SUMMARIES]
    adjacent_names = [f"local_adjacent_diff_{k}" for k in ("cv", "max_ratio", "top_share")]
    temporal_names = [f"{m}_{k}" for m in ("temporal_noise_cv", "temporal_luma_std") for k in ("mean", "max_ratio", "top_share")]
    if rows * cols < 4:
        for n in names + ["adjacent_diff"] + adjacent_names:
            feats[n + "_mean"] = feats[n + "_std"] = None
        for n in temporal_names:
            feats[n] = None
        return
    spatial, adjacent, adjacent_mean, noise, luma = [], [], [], [], []
    for a, b in zip(grays, nexts):
        maps, lm = local_maps(a, cell, rows, cols)
        spatial.append([v for m in maps for v in summarise(m)])
        noise.append(maps[0])
        luma.append(lm)
        d = np.abs(a - b)
        adjacent_mean.append([d.mean()])
        s = summarise(cell_means(d, cell, rows, cols))
        adjacent.append([s[0], s[1], s[3]])
    mean_std(spatial, feats, names)
    mean_std(adjacent_mean, feats, ["adjacent_diff"])
    mean_std(adjacent, feats, adjacent_names)
    if len(grays) < 2:
        for n in temporal_names:
            feats[n] = None
        return
    noise, luma = np.array(noise), np.array(luma)
    nm = noise.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise_cv = np.where(nm > 0, noise.std(axis=0) / nm, 0)
    for prefix, m in (("temporal_noise_cv", noise_cv), ("temporal_luma_std", luma.std(axis=0))):
        s = summarise(m)
        feats[prefix + "_mean"], feats[prefix + "_max_ratio"], feats[prefix + "_top_share"] = m.mean(), s[1], s[3]


MOTION_MAPS = ["motion_cell_dev", "motion_neighbour_dev"]
MOTION_STATS = ["mean", "cv", "max_ratio", "top_share"]
MOTION_NAMES = ["motion_global_mag"] + [f"{m}_{k}" for m in MOTION_MAPS for k in MOTION_STATS]


def motion_features(pairs, feats):
    """Schema 3: Farneback flow (OpenCV's, as fvc; Python's cv2 gives the same field) from
    each sampled frame to its successor, averaged per cell; the rest is numpy."""
    import cv2

    h, w = pairs.shape[1:3]
    cell, rows, cols = grid(h, w)
    if rows * cols < 4:
        for n in MOTION_NAMES:
            feats[n + "_mean"] = feats[n + "_std"] = None
        feats["temporal_motion_dev_max_ratio"] = feats["temporal_motion_dev_top_share"] = None
        return
    per_frame, neighbour_sum = [], np.zeros((rows, cols))
    for a, b in zip(pairs[0::2], pairs[1::2]):
        ga, gb = (cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY) for x in (a, b))
        flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0).astype(np.float64)
        m = flow[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell, 2).mean(axis=(1, 3))
        g = np.median(m.reshape(-1, 2), axis=0)
        cell_dev = np.hypot(m[..., 0] - g[0], m[..., 1] - g[1])
        total, count = np.zeros_like(m), np.zeros((rows, cols, 1))
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            ys, ye, xs, xe = max(0, -dr), rows - max(0, dr), max(0, -dc), cols - max(0, dc)
            total[ys:ye, xs:xe] += m[ys + dr:ye + dr, xs + dc:xe + dc]
            count[ys:ye, xs:xe] += 1
        nb = total / count
        neighbour_dev = np.hypot(m[..., 0] - nb[..., 0], m[..., 1] - nb[..., 1])
        neighbour_sum += neighbour_dev
        row = [math.hypot(g[0], g[1])]
        for mp in (cell_dev.ravel(), neighbour_dev.ravel()):
            s = summarise(mp)
            row += [mp.mean(), s[0], s[1], s[3]]
        per_frame.append(row)
    mean_std(per_frame, feats, MOTION_NAMES)
    s = summarise(neighbour_sum.ravel())
    feats["temporal_motion_dev_max_ratio"], feats["temporal_motion_dev_top_share"] = s[1], s[3]


def features(pairs, bitrate, fps, width, height):
    """pairs: [2N, H, W, 3] RGB, sample then successor; returns the named feature dict (None where undefined)."""
    raw = pairs
    pairs = pairs.astype(np.float64)
    all_grays = pairs[..., 0] * 0.299 + pairs[..., 1] * 0.587 + pairs[..., 2] * 0.114
    grays, nexts = all_grays[0::2], all_grays[1::2]
    frames = pairs[0::2]
    stats, residuals = zip(*(frame_stats(g) for g in grays))
    stats = np.array(stats)
    feats = {}
    for i, n in enumerate(NAMES):
        feats[n + "_mean"] = stats[:, i].mean()
        feats[n + "_std"] = stats[:, i].std()
    if len(grays) >= 2:
        diffs = [np.mean(np.abs(grays[i] - grays[i - 1])) for i in range(1, len(grays))]
        feats["framediff_mean"] = float(np.mean(diffs))
        feats["framediff_std"] = float(np.std(diffs))
        feats["noise_temporal_var"] = float(np.mean(np.var(np.stack(residuals), axis=0)))
    else:
        feats["framediff_mean"] = feats["framediff_std"] = feats["noise_temporal_var"] = None
    feats["codec_bitrate"] = bitrate
    feats["codec_fps"] = fps
    feats["codec_width"] = frames.shape[2]
    feats["codec_height"] = frames.shape[1]
    feats["codec_bits_per_pixel"] = bitrate / (width * height * fps)
    local_features(grays, nexts, feats)
    motion_features(raw, feats)
    return {k: (None if v is None else float(v)) for k, v in feats.items()}


def main():
    bitrate, fps, width, height = (float(x) for x in sys.argv[2:6])
    json.dump(features(np.load(sys.argv[1]), bitrate, fps, width, height), sys.stdout)


if __name__ == "__main__":
    main()
