"""Python peer for benchmarks/deep.ts: the same architectures in Debian's
python3-torch (LibTorch 1.13, as fvc links), trained with the same step as fvc's
trainer (AdamW, cross-entropy, backward, gradient clipping at 1.0, optimiser step)
on in-memory clips, with the same thread count. r2plus1d_18 is torchvision's own where
torchvision imports, else the same network written here (a GPU image may have PyTorch
alone); X3D-S and SlowFast R50 are written here after PyTorchVideo (not packaged for
Debian). Parameter counts are printed so the run shows they equal fvc's.

usage: /usr/bin/python3 deep_python.py MODEL FRAMES SIZE BATCH STEPS THREADS [DEVICE] -> JSON on stdout

DEVICE cuda (scripts/gpu-deep.sh) trains under bf16 autocast, as fvc does on CUDA.
"""
import contextlib
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
try:
    from torchvision.models import video
except (ImportError, RuntimeError):  # absent, or built for another torch
    video = None


def conv(i, o, k, s=1, p=None, g=1, bias=False):
    k = (k,) * 3 if isinstance(k, int) else k
    s = (s,) * 3 if isinstance(s, int) else s
    p = tuple(x // 2 for x in k) if p is None else p
    return nn.Conv3d(i, o, k, s, p, groups=g, bias=bias)


class Bottleneck(nn.Module):
    def __init__(self, i, inner, o, ka, sb, groups=1, se=0, x3d=False):
        super().__init__()
        self.a, self.na = conv(i, inner, ka), nn.BatchNorm3d(inner)
        self.b, self.nb = conv(inner, inner, (3, 3, 3) if x3d else (1, 3, 3), (1, sb, sb), g=groups), nn.BatchNorm3d(inner)
        self.se = nn.Sequential(conv(inner, se, 1, bias=True), nn.ReLU(), conv(se, inner, 1, bias=True), nn.Sigmoid()) if se else None
        self.c, self.nc = conv(inner, o, 1), nn.BatchNorm3d(o)
        self.x3d = x3d
        proj = i != o or sb != 1
        self.proj = conv(i, o, 1, (1, sb, sb)) if proj else None
        self.nproj = nn.BatchNorm3d(o) if proj and (not x3d or i != o) else None

    def forward(self, x):
        y = F.relu(self.na(self.a(x)))
        y = self.nb(self.b(y))
        if self.se is not None:
            y = y * self.se(y.mean((2, 3, 4), keepdim=True))
        y = y * torch.sigmoid(y) if self.x3d else F.relu(y)
        y = self.nc(self.c(y))
        s = x if self.proj is None else self.proj(x)
        if self.nproj is not None:
            s = self.nproj(s)
        return F.relu(s + y)


class Conv2Plus1D(nn.Sequential):
    def __init__(self, i, o, mid, s):
        super().__init__(conv(i, mid, (1, 3, 3), (1, s, s)), nn.BatchNorm3d(mid), nn.ReLU(), conv(mid, o, (3, 1, 1), (s, 1, 1)))


class BasicBlock2Plus1D(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        mid = i * o * 27 // (i * 9 + 3 * o)
        self.conv1 = nn.Sequential(Conv2Plus1D(i, o, mid, s), nn.BatchNorm3d(o), nn.ReLU())
        self.conv2 = nn.Sequential(Conv2Plus1D(o, o, mid, 1), nn.BatchNorm3d(o))
        self.downsample = nn.Sequential(conv(i, o, 1, s), nn.BatchNorm3d(o)) if s != 1 or i != o else None

    def forward(self, x):
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(self.conv2(self.conv1(x)) + s)


class R2Plus1D18(nn.Module):
    """torchvision's r2plus1d_18, for machines without torchvision."""

    def __init__(self, classes):
        super().__init__()
        self.stem = nn.Sequential(conv(3, 45, (1, 7, 7), (1, 2, 2)), nn.BatchNorm3d(45), nn.ReLU(), conv(45, 64, (3, 1, 1)), nn.BatchNorm3d(64), nn.ReLU())
        blocks, i = [], 64
        for o, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [BasicBlock2Plus1D(i, o, s), BasicBlock2Plus1D(o, o, 1)]
            i = o
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(self.layers(self.stem(x)).mean((2, 3, 4)))


def round_width(w, m, d=8):
    w *= m
    out = max(d, int(w + d / 2) // d * d)
    return out + d if out < 0.9 * w else out


class X3D(nn.Module):
    def __init__(self, classes):
        super().__init__()
        d = round_width(12, 2.0)
        self.stem = nn.Sequential(conv(3, d, (1, 3, 3), (1, 2, 2)), conv(d, d, (5, 1, 1), g=d), nn.BatchNorm3d(d), nn.ReLU())
        blocks, stage = [], 12
        for depth in (1, 2, 5, 3):
            o = round_width(stage, 2.0)
            inner = int(2.25 * o)
            for b in range(math.ceil(2.2 * depth)):
                blocks.append(Bottleneck(d if b == 0 else o, inner, o, 1, 2 if b == 0 else 1, inner, round_width(inner, 0.0625) if b % 2 == 0 else 0, True))
            d, stage = o, round_width(stage, 2.0)
        self.blocks = nn.Sequential(*blocks)
        self.pre = nn.Sequential(conv(d, inner, 1), nn.BatchNorm3d(inner), nn.ReLU())
        self.post = conv(inner, 2048, 1)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.pre(self.blocks(self.stem(x))).mean((2, 3, 4), keepdim=True)
        return self.fc(F.dropout(F.relu(self.post(x)).flatten(1), 0.5, self.training))


class SlowFast(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stems = nn.ModuleList([nn.Sequential(conv(3, 64, (1, 7, 7), (1, 2, 2)), nn.BatchNorm3d(64), nn.ReLU(), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))),
                                    nn.Sequential(conv(3, 8, (5, 7, 7), (1, 2, 2)), nn.BatchNorm3d(8), nn.ReLU(), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))])
        self.fuse = nn.ModuleList([nn.Sequential(conv(8, 16, (7, 1, 1), (4, 1, 1), (3, 0, 0)), nn.BatchNorm3d(16), nn.ReLU())])
        self.slow, self.fast = nn.ModuleList(), nn.ModuleList()
        s_in, f_in = 64 + 16, 8
        for i, depth in enumerate((3, 4, 6, 3)):
            so, fo, stride = 256 << i, 32 << i, 1 if i == 0 else 2
            self.slow.append(nn.Sequential(*[Bottleneck(s_in if b == 0 else so, 64 << i, so, (3, 1, 1) if i >= 2 else 1, stride if b == 0 else 1) for b in range(depth)]))
            self.fast.append(nn.Sequential(*[Bottleneck(f_in if b == 0 else fo, 8 << i, fo, (3, 1, 1), stride if b == 0 else 1) for b in range(depth)]))
            if i < 3:
                self.fuse.append(nn.Sequential(conv(fo, 2 * fo, (7, 1, 1), (4, 1, 1), (3, 0, 0)), nn.BatchNorm3d(2 * fo), nn.ReLU()))
            s_in, f_in = so + (2 * fo if i < 3 else 0), fo
        self.fc = nn.Linear(2048 + 256, classes)

    def forward(self, x):
        t = x.shape[2]
        s = x.index_select(2, torch.linspace(0, t - 1, t // 4).long().to(x.device))
        s, f = self.stems[0](s), self.stems[1](x)
        s = torch.cat([s, self.fuse[0](f)], 1)
        for i in range(4):
            s, f = self.slow[i](s), self.fast[i](f)
            if i < 3:
                s = torch.cat([s, self.fuse[i + 1](f)], 1)
        return self.fc(F.dropout(torch.cat([s.mean((2, 3, 4)), f.mean((2, 3, 4))], 1), 0.5, self.training))


class Attention(nn.Module):
    """Packed q/k/v and output projections; PyTorch 2.x's fused attention where it has it, as fvc's shim does."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        n, l, d = x.shape
        q, k, v = self.qkv(x).view(n, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            y = ((q / math.sqrt(q.shape[-1])) @ k.transpose(-2, -1)).softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(n, l, d))


class Mlp(nn.Sequential):
    def __init__(self, d, hidden):
        super().__init__(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))


class Vit(nn.Module):
    """A ViT's class token per image, for machines without torchvision (same layers as its VisionTransformer)."""

    def __init__(self, d, layers, heads, mlp, patch=16, image=224):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, d, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.zeros(1, 1 + (image // patch) ** 2, d))
        self.blocks = nn.ModuleList(nn.ModuleList([nn.LayerNorm(d, eps=1e-6), Attention(d, heads), nn.LayerNorm(d, eps=1e-6), Mlp(d, mlp)]) for _ in range(layers))
        self.ln = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for n1, attn, n2, mlp in self.blocks:
            x = x + attn(n1(x))
            x = x + mlp(n2(x))
        return self.ln(x)[:, 0]


class VitGru(nn.Module):
    """5k vit_gru on ViT-S/16: torchvision's VisionTransformer per frame, a GRU over the class tokens, dropout 0.5, fc."""

    def __init__(self, classes, d=384, layers=12, heads=6, mlp=1536, hidden=512):
        super().__init__()
        try:
            from torchvision.models.vision_transformer import VisionTransformer
            self.vit = VisionTransformer(224, 16, layers, heads, d, mlp)
            self.vit.heads = nn.Identity()
        except (ImportError, RuntimeError):
            self.vit = Vit(d, layers, heads, mlp)
        self.gru, self.fc = nn.GRU(d, hidden, batch_first=True), nn.Linear(hidden, classes)

    def forward(self, x):
        b, c, t, h, w = x.shape
        tokens = self.vit(x.transpose(1, 2).reshape(b * t, c, h, w)).view(b, t, -1)
        return self.fc(F.dropout(self.gru(tokens)[1][0], 0.5, self.training))


class DividedBlock(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.temporal_norm1, self.temporal_attn, self.temporal_fc = nn.LayerNorm(d, eps=1e-6), Attention(d, heads), nn.Linear(d, d)
        self.norm1, self.attn = nn.LayerNorm(d, eps=1e-6), Attention(d, heads)
        self.norm2, self.mlp = nn.LayerNorm(d, eps=1e-6), Mlp(d, mlp)

    def forward(self, x, t):
        b, _, d = x.shape
        p = (x.shape[1] - 1) // t
        cls, patches = x[:, :1], x[:, 1:]
        xt = patches + self.temporal_fc(self.temporal_attn(self.temporal_norm1(patches.reshape(b * p, t, d))).reshape(b, p * t, d))
        frames = torch.cat([cls.repeat(1, t, 1).reshape(b * t, 1, d), xt.reshape(b, p, t, d).transpose(1, 2).reshape(b * t, p, d)], 1)
        r = self.attn(self.norm1(frames))
        y = torch.cat([cls + r[:, 0].reshape(b, t, d).mean(1, True), xt + r[:, 1:].reshape(b, t, p, d).transpose(1, 2).reshape(b, p * t, d)], 1)
        return y + self.mlp(self.norm2(y))


class TimeSformer(nn.Module):
    """5m TimeSformer with divided space-time attention on ViT-Ti/16 dimensions (the benchmark's small configuration)."""

    def __init__(self, classes, d=192, layers=12, heads=3, mlp=768, frames=8):
        super().__init__()
        self.proj = nn.Conv2d(3, d, 16, 16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + 14 * 14, d))
        self.time_embed = nn.Parameter(torch.zeros(1, frames, d))
        self.blocks = nn.ModuleList(DividedBlock(d, heads, mlp) for _ in range(layers))
        self.norm, self.head = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, classes)

    def forward(self, x):
        b, c, t, h, w = x.shape
        p = self.proj(x.transpose(1, 2).reshape(b * t, c, h, w)).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        n, d = p.shape[1], p.shape[2]
        p = p.reshape(b, t, n, d).transpose(1, 2) + self.time_embed.unsqueeze(1)
        x = torch.cat([(self.cls_token + self.pos_embed[:, :1]).expand(b, 1, d), p.reshape(b, n * t, d)], 1)
        for blk in self.blocks:
            x = blk(x, t)
        return self.head(self.norm(x)[:, 0])


def build(name):
    if name == "r2plus1d_18" and video is not None:
        return video.r2plus1d_18(num_classes=2)
    return {"r2plus1d_18": R2Plus1D18, "x3d_s": X3D, "slowfast_r50": SlowFast, "vit_gru_s16": VitGru, "vit_gru": lambda c: VitGru(c, 768, 12, 12, 3072), "timesformer_ti16": TimeSformer}[name](2)


def main():
    name, frames, size, batch, steps, threads = sys.argv[1], *map(int, sys.argv[2:7])
    device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
    cuda = device == "cuda"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(name).train().to(device)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    x = torch.randn(batch, 3, frames, size, size, device=device)
    y = (torch.arange(batch) % 2).to(device)
    times = []
    for i in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        opt.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext():
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - t0)
    json.dump({"step_seconds": times, "parameters": params, "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__, "torchvision": video is not None}, sys.stdout)


main()
