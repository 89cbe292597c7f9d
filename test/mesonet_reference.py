"""MesoNet in PyTorch, written from the authors' Keras code (DariusAf/MesoNet classifiers.py)
independently of fvc's C++, for test/mesonet.test.ts: random weights and batch-norm
statistics saved with torch.save, a random clip, and the eval-mode logits.

    /usr/bin/python3 test/mesonet_reference.py OUT_DIR
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from batch_norm_reference import randomise_batch_norm
from torch import nn

out = sys.argv[1]
torch.manual_seed(0)


def conv(i, o, k, d=1):
    return nn.Conv2d(i, o, k, padding=d * (k // 2), dilation=d)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def pool(x, k):  # Keras MaxPooling2D(padding='same'), stride = pool
    return F.max_pool2d(x, k, k, ceil_mode=True)


class Inception(nn.Module):
    def __init__(self, i, a, b, c, d):
        super().__init__()
        self.branch1 = conv(i, a, 1)
        self.branch2_1, self.branch2_2 = conv(i, b, 1), conv(b, b, 3)
        self.branch3_1, self.branch3_2 = conv(i, c, 1), conv(c, c, 3, 2)
        self.branch4_1, self.branch4_2 = conv(i, d, 1), conv(d, d, 3, 3)

    def forward(self, x):
        r = F.relu
        return torch.cat([r(self.branch1(x)), r(self.branch2_2(r(self.branch2_1(x)))), r(self.branch3_2(r(self.branch3_1(x)))),
                          r(self.branch4_2(r(self.branch4_1(x))))], 1)


class Meso(nn.Module):
    def __init__(self, inception):
        super().__init__()
        self.inception = inception
        if inception:
            self.incep1, self.bn1 = Inception(3, 1, 4, 4, 2), bn(11)
            self.incep2, self.bn2 = Inception(11, 2, 4, 4, 2), bn(12)
        else:
            self.conv1, self.bn1 = conv(3, 8, 3), bn(8)
            self.conv2, self.bn2 = conv(8, 8, 5), bn(8)
        self.conv3, self.bn3 = conv(12 if inception else 8, 16, 5), bn(16)
        self.conv4, self.bn4 = conv(16, 16, 5), bn(16)
        self.fc1, self.fc2 = nn.Linear(1024, 16), nn.Linear(16, 2)

    def forward(self, clips):  # [B, C, T, H, W]
        b, c, t, h, w = clips.shape
        x = clips.transpose(1, 2).reshape(b * t, c, h, w)
        if self.inception:
            x = pool(self.bn1(self.incep1(x)), 2)
            x = pool(self.bn2(self.incep2(x)), 2)
        else:
            x = pool(self.bn1(F.relu(self.conv1(x))), 2)
            x = pool(self.bn2(F.relu(self.conv2(x))), 2)
        x = pool(self.bn3(F.relu(self.conv3(x))), 2)
        x = pool(self.bn4(F.relu(self.conv4(x))), 4)
        x = x.flatten(1).view(b, t, -1).mean(1)
        return self.fc2(F.leaky_relu(self.fc1(x), 0.1))


clip = torch.rand(2, 3, 3, 256, 256)
np.save(f"{out}/clip.npy", clip.numpy())
for name, inception in (("meso4", False), ("meso_inception4", True)):
    m = Meso(inception)
    randomise_batch_norm(m)
    m.eval()
    torch.save(m.state_dict(), f"{out}/{name}.pth")
    with torch.no_grad():
        np.save(f"{out}/{name}_logits.npy", m(clip).numpy())
    print(name, sum(p.numel() for p in m.parameters()))
