"""Exports randomly initialised torchvision video models as .safetensors (written by
hand: Debian has no python3-safetensors; the format is an 8-byte little-endian
header length, a JSON header, then the raw tensors), one input batch, and the
models' eval-mode logits on it, for fvc to reproduce.

usage: /usr/bin/python3 torchvision_export.py OUT_DIR NUM_CLASSES MODEL..."""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.models import video

DTYPES = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}


def save_safetensors(path, state):
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        a = np.ascontiguousarray(tensor.detach().cpu().numpy())
        b = a.tobytes()
        header[name] = {'dtype': DTYPES[a.dtype], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomise_batch_norm(model):
    """Non-trivial batch-norm statistics, so eval-mode normalisation is checked too."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.num_batches_tracked.fill_(7)


def main():
    out, classes, names = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x = torch.randn(2, 3, 8, 64, 64)
    np.save(out / 'clip.npy', x.numpy())
    for name in names:
        m = getattr(video, name)(num_classes=classes)
        randomise_batch_norm(m)
        m.eval()
        with torch.no_grad():
            y = m(x)
        save_safetensors(out / f'{name}.safetensors', m.state_dict())
        np.save(out / f'{name}_logits.npy', y.numpy())


if __name__ == '__main__':
    main()
