"""fvc's naive_cnn per-frame CNN (cpp/torch/naive_cnn.cpp frameCnn) in PyTorch, with its
parameter names, for the Python references that build on it (test/hostile_pth.py,
test/residual_reference.py): four conv 3x3 (no bias) -> BN -> ReLU -> max-pool 2 stages."""
from torch import nn


def naive_features(widths=(32, 64, 128, 256)):
    layers, c_in = [], 3
    for c in widths:
        layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True), nn.MaxPool2d(2)]
        c_in = c
    return nn.Sequential(*layers)
