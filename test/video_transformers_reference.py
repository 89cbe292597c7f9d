"""Independent implementations of TimeSformer (Bertasius et al., 2021, divided
space-time attention) and ViViT's factorised encoder (Arnab et al., 2021, model 2),
written from the papers with python3-torch and nothing of fvc: attention spelled out
with einsum, TimeSformer's temporal attention as a mask over the whole frame-major
sequence and its spatial attention one frame at a time, ViViT's tubelet embedding as
an explicit unfold and matrix product. Small random configurations (hidden 48, 3 heads,
MLP 192, 2 blocks: fvc's *_ti16 at width 0.25, depth 2) with every parameter random,
so the temporal parts take part.

usage: video_transformers_reference.py export OUT_DIR
       video_transformers_reference.py compare EXPECTED.safetensors ACTUAL.safetensors
  export writes {timesformer,vivit}.safetensors (weights under fvc's names), clip_*.npy,
  *_logits.npy and *_grads.safetensors (the mean cross-entropy's gradients for labels 0, 1).
  compare prints the largest absolute difference over all tensors, and where."""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from torchvision_export import save_safetensors

D, HEADS, MLP, LAYERS, PATCH, CLASSES = 48, 3, 192, 2, 16, 2


def load_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        a, b = h['data_offsets']
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype={'F32': np.float32, 'I64': np.int64}[h['dtype']]).reshape(h['shape'])
    return out


def attention(x, qkv_w, qkv_b, proj_w, proj_b, mask=None):
    n, l, d = x.shape
    q, k, v = (x @ qkv_w.T + qkv_b).chunk(3, dim=-1)
    q, k, v = (t.reshape(n, l, HEADS, d // HEADS).transpose(1, 2) for t in (q, k, v))
    a = torch.einsum('nhid,nhjd->nhij', q, k) / math.sqrt(d // HEADS)
    if mask is not None:
        a = a.masked_fill(~mask, float('-inf'))
    y = torch.einsum('nhij,nhjd->nhid', a.softmax(-1), v)
    return y.transpose(1, 2).reshape(n, l, d) @ proj_w.T + proj_b


def ln(x, p, name):
    return F.layer_norm(x, (x.shape[-1],), p[name + '.weight'], p[name + '.bias'], eps=1e-6)


def linear(x, p, name):
    return x @ p[name + '.weight'].T + p[name + '.bias']


def timesformer_params(frames, grid):
    shapes = {'patch_embed.proj.weight': (D, 3, PATCH, PATCH), 'patch_embed.proj.bias': (D,), 'cls_token': (1, 1, D),
              'pos_embed': (1, 1 + grid * grid, D), 'time_embed': (1, frames, D), 'norm.weight': (D,), 'norm.bias': (D,),
              'head.weight': (CLASSES, D), 'head.bias': (CLASSES,)}
    for i in range(LAYERS):
        b = f'blocks.{i}.'
        for norm in ('norm1', 'temporal_norm1', 'norm2'):
            shapes[b + norm + '.weight'] = shapes[b + norm + '.bias'] = (D,)
        for attn in ('attn', 'temporal_attn'):
            shapes.update({b + attn + '.qkv.weight': (3 * D, D), b + attn + '.qkv.bias': (3 * D,), b + attn + '.proj.weight': (D, D), b + attn + '.proj.bias': (D,)})
        shapes.update({b + 'temporal_fc.weight': (D, D), b + 'temporal_fc.bias': (D,), b + 'mlp.fc1.weight': (MLP, D), b + 'mlp.fc1.bias': (MLP,),
                       b + 'mlp.fc2.weight': (D, MLP), b + 'mlp.fc2.bias': (D,)})
    return shapes


def timesformer(p, x):
    b, _, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, 3, h, w)
    patches = F.conv2d(frames, p['patch_embed.proj.weight'], p['patch_embed.proj.bias'], stride=PATCH)
    n = patches.shape[2] * patches.shape[3]
    tokens = patches.flatten(2).transpose(1, 2).reshape(b, t, n, D)          # frame-major
    tokens = tokens + p['pos_embed'][:, 1:].unsqueeze(1) + p['time_embed'][:, :t].unsqueeze(2)
    cls = (p['cls_token'] + p['pos_embed'][:, :1]).expand(b, 1, D)
    same_patch = (torch.arange(t * n) % n)
    mask = same_patch[:, None] == same_patch[None, :]
    for i in range(LAYERS):
        blk = f'blocks.{i}.'
        seq = tokens.reshape(b, t * n, D)
        res = attention(ln(seq, p, blk + 'temporal_norm1'), *(p[blk + 'temporal_attn.' + k] for k in ('qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias')), mask=mask)
        xt = (seq + linear(res, p, blk + 'temporal_fc')).reshape(b, t, n, D)
        cls_res, frames_out = [], []
        for f in range(t):
            s = torch.cat([cls, xt[:, f]], dim=1)
            r = attention(ln(s, p, blk + 'norm1'), *(p[blk + 'attn.' + k] for k in ('qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias')))
            cls_res.append(r[:, :1])
            frames_out.append(xt[:, f] + r[:, 1:])
        cls = cls + torch.stack(cls_res).mean(0)
        full = torch.cat([cls, torch.stack(frames_out, 1).reshape(b, t * n, D)], dim=1)
        full = full + linear(F.gelu(linear(ln(full, p, blk + 'norm2'), p, blk + 'mlp.fc1')), p, blk + 'mlp.fc2')
        cls, tokens = full[:, :1], full[:, 1:].reshape(b, t, n, D)
    return linear(ln(cls[:, 0], p, 'norm'), p, 'head')


def encoder_params(prefix, positions):
    shapes = {prefix + 'pos_embedding': (1, positions, D), prefix + 'ln.weight': (D,), prefix + 'ln.bias': (D,)}
    for i in range(LAYERS):
        b = f'{prefix}layers.encoder_layer_{i}.'
        shapes.update({b + 'ln_1.weight': (D,), b + 'ln_1.bias': (D,), b + 'ln_2.weight': (D,), b + 'ln_2.bias': (D,),
                       b + 'self_attention.in_proj_weight': (3 * D, D), b + 'self_attention.in_proj_bias': (3 * D,),
                       b + 'self_attention.out_proj.weight': (D, D), b + 'self_attention.out_proj.bias': (D,),
                       b + 'mlp.0.weight': (MLP, D), b + 'mlp.0.bias': (MLP,), b + 'mlp.3.weight': (D, MLP), b + 'mlp.3.bias': (D,)})
    return shapes


def encoder(p, prefix, x):
    x = x + p[prefix + 'pos_embedding']
    for i in range(LAYERS):
        b = f'{prefix}layers.encoder_layer_{i}.'
        x = x + attention(ln(x, p, b + 'ln_1'), *(p[b + k] for k in ('self_attention.in_proj_weight', 'self_attention.in_proj_bias', 'self_attention.out_proj.weight', 'self_attention.out_proj.bias')))
        x = x + linear(F.gelu(linear(ln(x, p, b + 'ln_2'), p, b + 'mlp.0')), p, b + 'mlp.3')
    return ln(x, p, prefix + 'ln')


def vivit_params(tubelet, steps, grid):
    shapes = {'conv_proj.weight': (D, 3, tubelet, PATCH, PATCH), 'conv_proj.bias': (D,), 'class_token': (1, 1, D), 'temporal_token': (1, 1, D),
              'heads.head.weight': (CLASSES, D), 'heads.head.bias': (CLASSES,)}
    shapes.update(encoder_params('encoder.', 1 + grid * grid))
    shapes.update(encoder_params('temporal_encoder.', 1 + steps))
    return shapes


def vivit(p, x, tubelet):
    b, c, t, h, w = x.shape
    nt, gh, gw = t // tubelet, h // PATCH, w // PATCH
    cubes = x.reshape(b, c, nt, tubelet, gh, PATCH, gw, PATCH).permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b * nt, gh * gw, c * tubelet * PATCH * PATCH)
    tokens = cubes @ p['conv_proj.weight'].reshape(D, -1).T + p['conv_proj.bias']
    spatial = encoder(p, 'encoder.', torch.cat([p['class_token'].expand(b * nt, 1, D), tokens], dim=1))[:, 0].reshape(b, nt, D)
    clip = encoder(p, 'temporal_encoder.', torch.cat([p['temporal_token'].expand(b, 1, D), spatial], dim=1))[:, 0]
    return linear(clip, p, 'heads.head')


def random_params(shapes, gen):
    p = {}
    for name, shape in shapes.items():
        if name.endswith('norm1.weight') or name.endswith('norm2.weight') or name.endswith('ln_1.weight') or name.endswith('ln_2.weight') or name.endswith('ln.weight') or name == 'norm.weight':
            t = 1 + 0.1 * torch.randn(shape, generator=gen)
        else:
            t = (0.3 if len(shape) == 1 else 1 / math.sqrt(shape[-1] if len(shape) == 2 else np.prod(shape[1:]))) * torch.randn(shape, generator=gen)
            if name.endswith('token') or 'embed' in name or 'pos_embedding' in name:
                t = 0.1 * torch.randn(shape, generator=gen)
        p[name] = t.requires_grad_(True)
    return p


def export(out):
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    grid = 224 // PATCH
    labels = torch.tensor([0, 1])
    cases = {
        'timesformer': (timesformer_params(8, grid), lambda p, x: timesformer(p, x), (2, 3, 8, 224, 224)),
        'vivit': (vivit_params(2, 8, grid), lambda p, x: vivit(p, x, 2), (2, 3, 16, 224, 224)),
    }
    for name, (shapes, forward, clip_shape) in cases.items():
        p = random_params(shapes, gen)
        x = torch.randn(clip_shape, generator=gen)
        np.save(out / f'clip_{name}.npy', x.numpy())
        save_safetensors(out / f'{name}.safetensors', {k: v.detach() for k, v in p.items()})
        logits = forward(p, x)
        F.cross_entropy(logits, labels).backward()
        np.save(out / f'{name}_logits.npy', logits.detach().numpy())
        save_safetensors(out / f'{name}_grads.safetensors', {k: v.grad for k, v in p.items()})


def compare(expected, actual):
    e, a = load_safetensors(expected), load_safetensors(actual)
    missing = sorted(set(e) ^ set(a))
    worst, where, scale = 0.0, '', 0.0
    for name in e.keys() & a.keys():
        d = float(np.abs(e[name] - a[name]).max())
        scale = max(scale, float(np.abs(e[name]).max()))
        if d >= worst:
            worst, where = d, name
    print(json.dumps({'max_abs_diff': worst, 'where': where, 'largest_gradient': scale, 'tensors': len(e), 'not_in_both': missing}))


if __name__ == '__main__':
    if sys.argv[1] == 'export':
        export(Path(sys.argv[2]))
    else:
        compare(sys.argv[2], sys.argv[3])
