"""Batch-norm layers with random statistics and affine weights, for the Python references
(test/mesonet_reference.py, test/trace_cnn_reference.py): eval-mode logits then check
that fvc reads and applies all four of them."""
import torch


def randomise_batch_norm(model):
    """Random batch-norm statistics and affine weights, so eval-mode logits test them too."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
