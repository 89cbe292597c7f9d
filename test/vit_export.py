"""ViT references for fvc's transformer tests, from Debian's python3-torchvision:
torchvision's vit_b_16 and a small ViT of fvc's vit_ti_16 layout at width 0.25,
depth 2 (hidden 48, 3 heads, MLP 192, 2 blocks), with randomised heads and norms (torchvision
zero-initialises the head), their .safetensors, clips and logits; position embeddings
resampled by torchvision's own interpolate_embeddings.

usage: /usr/bin/python3 vit_export.py OUT_DIR"""
import re
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.models import vit_b_16
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings

from torchvision_export import save_safetensors

TINY = dict(patch_size=16, num_layers=2, num_heads=3, hidden_dim=48, mlp_dim=192, num_classes=5)


def randomise(m):
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith('heads.'):
                p.normal_(0, 0.05)
            elif '.ln' in name or name.startswith('encoder.ln'):
                p.uniform_(0.8, 1.2) if name.endswith('weight') else p.uniform_(-0.1, 0.1)
            elif name == 'class_token':
                p.normal_(0, 0.02)
    return m.eval()


def timm_names(state):
    """A torchvision ViT state dict under the names timm's VisionTransformer gives the same
    tensors (its model.safetensors files): written here from timm's module layout, apart
    from fvc's own map."""
    top = {'conv_proj.': 'patch_embed.proj.', 'class_token': 'cls_token', 'encoder.pos_embedding': 'pos_embed',
           'encoder.ln.': 'norm.', 'heads.head.': 'head.'}
    block = {'ln_1.': 'norm1.', 'self_attention.in_proj_weight': 'attn.qkv.weight', 'self_attention.in_proj_bias': 'attn.qkv.bias',
             'self_attention.out_proj.': 'attn.proj.', 'ln_2.': 'norm2.', 'mlp.0.': 'mlp.fc1.', 'mlp.3.': 'mlp.fc2.'}
    out = {}
    for name, t in state.items():
        m = re.match(r'encoder\.layers\.encoder_layer_(\d+)\.(.*)', name)
        if m:
            rest = m.group(2)
            for a, b in block.items():
                if rest.startswith(a):
                    rest = b + rest[len(a):]
                    break
            out[f'blocks.{m.group(1)}.{rest}'] = t
            continue
        for a, b in top.items():
            if name.startswith(a):
                name = b + name[len(a):]
                break
        out[name] = t
    return out


def video_logits(m, clip):
    """The ViT on every frame, class tokens averaged over time, then the head."""
    b, c, t, h, w = clip.shape
    frames = clip.transpose(1, 2).reshape(b * t, c, h, w)
    x = m._process_input(frames)
    x = torch.cat([m.class_token.expand(x.shape[0], -1, -1), x], dim=1)
    x = m.encoder(x)[:, 0].reshape(b, t, -1).mean(1)
    return m.heads(x)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    clip224 = torch.randn(1, 3, 2, 224, 224)
    clip112 = torch.randn(2, 3, 2, 112, 112)
    np.save(out / 'clip224.npy', clip224.numpy())
    np.save(out / 'clip112.npy', clip112.numpy())
    np.save(out / 'image224.npy', clip224[:, :, :1].numpy())
    with torch.no_grad():
        big = randomise(vit_b_16(num_classes=5))
        save_safetensors(out / 'vit_b_16.safetensors', big.state_dict())
        np.save(out / 'vit_b_16_logits.npy', video_logits(big, clip224).numpy())
        del big
        tiny = randomise(VisionTransformer(image_size=224, **TINY))
        state = tiny.state_dict()
        save_safetensors(out / 'tiny224.safetensors', state)
        save_safetensors(out / 'tiny224_timm.safetensors', timm_names(state))
        np.save(out / 'tiny224_logits.npy', video_logits(tiny, clip224).numpy())
        np.save(out / 'tiny224_image_logits.npy', video_logits(tiny, clip224[:, :, :1]).numpy())
        # The 224 weights on 112 px input: torchvision's model of that size with the embedding resampled.
        at112 = VisionTransformer(image_size=112, **TINY).eval()
        at112.load_state_dict(interpolate_embeddings(112, 16, dict(state)))
        np.save(out / 'tiny224_at112_logits.npy', video_logits(at112, clip112).numpy())
        # Weights of a 112 px model in a 224 px one.
        small = randomise(VisionTransformer(image_size=112, **TINY))
        save_safetensors(out / 'tiny112.safetensors', small.state_dict())
        grown = VisionTransformer(image_size=224, **TINY).eval()
        grown.load_state_dict(interpolate_embeddings(224, 16, dict(small.state_dict())))
        np.save(out / 'tiny112_at224_logits.npy', video_logits(grown, clip224).numpy())


if __name__ == '__main__':
    main()
