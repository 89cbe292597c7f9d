"""Exports a randomly initialised torchvision Inception v3 (auxiliary head included,
as torchvision publishes it) for fvc to reproduce:
  inception_v3.safetensors    the state dict
  inception_v3.pth            model.state_dict() through torch.save (zip format) as torchvision
                              publishes it, less the batch-norm step counters (as files from
                              before PyTorch 0.4.1 lack them)
  inception_v3_ckpt.pth       the state dict inside a checkpoint, under model_state
  inception_v3_legacy.pth     the state dict in torch.save's legacy (pre-1.6) format
  frames.npy, logits.npy      two 299 px frames (ImageNet-normalised) and their eval-mode logits
  clip_u8.npy, embedding.npy  a uint8 frame-cache entry [N, H, W, 3] and the embedding fvc's
                              extraction must give: per-frame pooled features, mean and std over frames

usage: /usr/bin/python3 inception_export.py OUT_DIR"""
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.models import inception_v3

sys.path.insert(0, str(Path(__file__).parent))
from torchvision_export import randomise_batch_norm, save_safetensors  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
torch.set_num_threads(2)
m = inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=True)
# torchvision's initialisation (std 0.1 everywhere) grows activations to ~1e14 over 94
# layers, where float32 cannot resolve 1e-4; He-scaled kernels keep the logits O(1-10),
# as trained weights have them.
for mod in m.modules():
    if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(mod.weight, nonlinearity='relu')
        if isinstance(mod, torch.nn.Linear):
            mod.weight.data /= 4
randomise_batch_norm(m)
m.eval()
state = m.state_dict()
save_safetensors(out / 'inception_v3.safetensors', state)
no_counters = m.state_dict()
for k in [k for k in no_counters if k.endswith('num_batches_tracked')]:
    del no_counters[k]
torch.save(no_counters, out / 'inception_v3.pth')
torch.save({'epoch': 3, 'model_state': state}, out / 'inception_v3_ckpt.pth')
torch.save(state, out / 'inception_v3_legacy.pth', _use_new_zipfile_serialization=False)

x = torch.randn(2, 3, 299, 299)
with torch.no_grad():
    y = m(x)
np.save(out / 'frames.npy', x.numpy())
np.save(out / 'logits.npy', y.numpy())

# A frame-cache entry of 3 frames at 299 px; the extraction normalises with ImageNet statistics.
rng = np.random.default_rng(1)
u8 = rng.integers(0, 256, size=(3, 299, 299, 3), dtype=np.uint8)
np.save(out / 'clip_u8.npy', u8)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
frames = (torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255 - mean) / std
m.fc = torch.nn.Identity()
with torch.no_grad():
    f = m(frames)
np.save(out / 'embedding.npy', torch.cat([f.mean(0), f.std(0, unbiased=False)]).numpy())
