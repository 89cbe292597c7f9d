"""Python peer for benchmarks/extract.ts: what a PyTorch user writes to extract a
backbone's features of a set of videos. PyAV samples the same frames as fvc
(decode_pyav.sample: the frame on screen at the centre of each of N equal segments,
letterboxed to the preset's frame size), a centre crop, the preset's mean/std, and
torchvision's model with its head replaced by Identity, in eval mode under
torch.inference_mode(), the same threads and the same clips per forward pass.

inception_v3: per-frame pooled 2048-d features, then mean and std over the frames
(4096-d per video, as fvc's embedding). r2plus1d_18: the pooled 512-d clip feature.

usage: /usr/bin/python3 extract_python.py CONFIG_JSON VIDEO...  -> JSON on stdout
CONFIG_JSON: {"backbone", "frames", "frame_size", "crop", "mean", "std", "batch", "threads", "repeats", "device"}
"""
import contextlib
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_pyav import sample  # noqa: E402


def build(backbone):
    if backbone == "inception_v3":
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    elif backbone == "r2plus1d_18":
        m = torchvision.models.video.r2plus1d_18(weights=None)
    else:
        raise SystemExit(f"no torchvision peer for {backbone}")
    m.fc = torch.nn.Identity()
    return m.eval()


def clip_tensor(path, c):
    frames, _ = sample(path, c["frames"], c["frame_size"])
    x = np.stack(frames)  # [T, S, S, 3] uint8
    o = (c["frame_size"] - c["crop"]) // 2
    x = x[:, o:o + c["crop"], o:o + c["crop"]]
    t = torch.from_numpy(x).float().div_(255)
    t = (t - torch.tensor(c["mean"])) / torch.tensor(c["std"])
    return t.permute(3, 0, 1, 2)  # [3, T, H, W]


def embed(model, backbone, clips):
    x = torch.stack(clips)  # [B, 3, T, H, W]
    if backbone == "inception_v3":
        b, _, t, h, w = x.shape
        f = model(x.permute(0, 2, 1, 3, 4).reshape(b * t, 3, h, w)).reshape(b, t, -1)
        return torch.cat([f.mean(1), f.std(1, unbiased=False)], 1)
    return model(x)


def run(model, c, videos):
    out = []
    for i in range(0, len(videos), c["batch"]):
        clips = [clip_tensor(v, c) for v in videos[i:i + c["batch"]]]
        # PyTorch 1.13 asks torch.cuda.is_bf16_supported() even for a disabled CUDA autocast,
        # which asserts on a CPU-only build: enter autocast only on CUDA.
        amp = torch.autocast("cuda", torch.bfloat16) if c["device"] == "cuda" else contextlib.nullcontext()
        with torch.inference_mode(), amp:
            out.append(embed(model, c["backbone"], [x.to(c["device"]) for x in clips]).float().cpu())
        if c["device"] == "cuda":
            torch.cuda.synchronize()
    return torch.cat(out)


def main():
    c = json.loads(sys.argv[1])
    videos = sys.argv[2:]
    torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    model = build(c["backbone"]).to(c["device"])
    run(model, c, videos[:1])  # warm-up: allocator and kernels, not timed
    seconds = []
    for _ in range(c["repeats"]):
        t = time.perf_counter()
        emb = run(model, c, videos)
        seconds.append(time.perf_counter() - t)
    print(json.dumps({"seconds": seconds, "dim": emb.shape[1], "finite": bool(torch.isfinite(emb).all()), "torch": torch.__version__, "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    main()
