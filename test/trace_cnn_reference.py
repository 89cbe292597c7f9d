"""trace_cnn in PyTorch, written from its description (cpp/torch/trace_cnn.h) independently
of fvc's C++, for test/trace_cnn.test.ts: random weights and batch-norm statistics saved
with torch.save (the SRM kernels are fixed, so they are not in the file), a random
normalised clip of adjacent pairs, and the eval-mode logits.

    /usr/bin/python3 test/trace_cnn_reference.py OUT_DIR
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from batch_norm_reference import randomise_batch_norm
from srm_reference import SRM
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)


def std(x, dims):
    # torch.std (n - 1) with 1e-8 under the root, as fvc keeps its gradient finite
    return (x.var(dims, unbiased=True) + 1e-8).sqrt()


class TraceCnn(nn.Module):
    def __init__(self, w=8):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(6, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1, stride=2))
        self.c2 = nn.Sequential(
            nn.Conv2d(3 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
        )
        self.pd = nn.Sequential(nn.Conv2d(4, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU())
        self.dropout = nn.Dropout(0.1)
        self.fc = nn.Linear(11 * w + 3, 2)

    def forward(self, clips):
        b, c, t, h, wd = clips.shape
        x5 = clips.transpose(1, 2)
        x = x5.reshape(b * t, c, h, wd)
        r = F.conv2d(x, SRM, padding=2).clamp(-3, 3)
        e = torch.log(F.avg_pool2d(self.c1(torch.cat([x, r], 1)) ** 2, 8) + 1e-3)
        gh, gw = e.shape[2:]
        sp = e - e.mean((2, 3), keepdim=True)
        e5 = e.view(b, t, -1, gh, gw)
        tp = (e5 - e5.mean(1, keepdim=True)).flatten(0, 1)
        z = self.c2(torch.cat([sp, tp, e], 1))
        f = torch.cat([std(z.flatten(2), 2), z.amax((2, 3))], 1).view(b, t, -1).mean(1)
        col = F.avg_pool2d(x, 16).view(b, t, 3, gh, gw)
        col = col - col.mean(1, keepdim=True)
        col = col - col.mean((3, 4), keepdim=True)
        colour = col.abs().mean((3, 4)).mean(1)
        spread = std(sp.view(b, t, -1, gh, gw), (1, 3, 4))
        d = (x5[:, 1::2] - x5[:, 0::2]).flatten(0, 1)
        cm = F.avg_pool2d(d, 8)
        cm = cm - cm.flatten(2).median(2).values[..., None, None]
        ma = torch.log(F.avg_pool2d(d.abs().mean(1, keepdim=True), 8) + 1e-2)
        q = self.pd(torch.cat([cm * 4, ma], 1)).amax((2, 3)).view(b, t // 2, -1).amax(1)
        return self.fc(self.dropout(torch.cat([q, f, colour, spread], 1)))


m = TraceCnn()
randomise_batch_norm(m)
m.eval()
# Pairs whose second frame is the first plus a shifted square: the pair branch sees a plateau.
clip = torch.rand(2, 3, 4, 64, 80) * 2 - 1
clip[:, :, 1::2] = clip[:, :, 0::2] + 0.02 * torch.randn(2, 3, 2, 64, 80)
clip[:, :, 1, 16:40, 8:32] += 0.3
np.save(f"{out}/clip.npy", clip.numpy())
torch.save(m.state_dict(), f"{out}/trace_cnn.pth")
with torch.no_grad():
    np.save(f"{out}/trace_cnn_logits.npy", m(clip).numpy())
print("parameters", sum(p.numel() for p in m.parameters()))
