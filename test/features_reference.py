"""Independent numpy implementation of fvc's Stage 2 handcrafted features, used by
test/features.test.ts. Reads the frames fvc sampled (an .npy [N, H, W, 3] uint8)
plus the codec facts, prints the feature dict as JSON. Float64 throughout; borders
reflect without repeating the edge (OpenCV's BORDER_REFLECT_101 = numpy 'reflect').

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


def features(frames, bitrate, fps, width, height):
    """frames: [N, H, W, 3] RGB; returns the named feature dict (None where undefined)."""
    frames = frames.astype(np.float64)
    grays = frames[..., 0] * 0.299 + frames[..., 1] * 0.587 + frames[..., 2] * 0.114
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
    return {k: (None if v is None else float(v)) for k, v in feats.items()}


def main():
    bitrate, fps, width, height = (float(x) for x in sys.argv[2:6])
    json.dump(features(np.load(sys.argv[1]), bitrate, fps, width, height), sys.stdout)


if __name__ == "__main__":
    main()
