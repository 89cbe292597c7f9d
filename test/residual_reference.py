"""srm_cnn in PyTorch, written from Zhou et al. 2018 and DeepfakeBench's SRM layer
independently of fvc's C++, for test/residual.test.ts: naive_cnn's layers with random
weights and batch-norm statistics saved with torch.save (the SRM kernels are fixed, so
they are not in the file), a random normalised clip, and the eval-mode logits.

    /usr/bin/python3 test/residual_reference.py OUT_DIR
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from naive_cnn_reference import naive_features
from srm_reference import SRM
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)


class SrmCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = naive_features()
        self.fc = nn.Linear(256, 2)

    def forward(self, clips):
        b, c, t, h, w = clips.shape
        x = clips.transpose(1, 2).reshape(b * t, c, h, w)
        x = F.hardtanh(F.conv2d(x, SRM, padding=2), -3.0, 3.0)
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1).view(b, t, -1).mean(1)
        return self.fc(x)


m = SrmCnn()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
m.eval()
clip = torch.rand(2, 3, 3, 64, 64) * 2 - 1
np.save(f"{out}/clip.npy", clip.numpy())
torch.save(m.state_dict(), f"{out}/srm_cnn.pth")
with torch.no_grad():
    np.save(f"{out}/srm_cnn_logits.npy", m(clip).numpy())
    residual = F.conv2d(clip.transpose(1, 2).reshape(6, 3, 64, 64), SRM, padding=2)
print("clipped share", float((residual.abs() > 3).float().mean()))
