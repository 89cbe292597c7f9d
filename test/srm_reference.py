"""The three SRM kernels of Zhou et al. 2018 (KV/12, KB/4, horizontal [1,-2,1]/2), written
from the paper and DeepfakeBench's SRM layer independently of fvc's C++, for the Python
references of the models that use them (test/residual_reference.py,
test/trace_cnn_reference.py): [3 out, 3 in, 5, 5], each kernel summed over R, G, B."""
import torch

KV = torch.tensor([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]]) / 12.0
KB = torch.tensor([[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]]) / 4.0
H2 = torch.zeros(5, 5)
H2[2, 1:4] = torch.tensor([1.0, -2.0, 1.0]) / 2.0
SRM = torch.stack([KV, KB, H2]).unsqueeze(1).repeat(1, 3, 1, 1).float()
