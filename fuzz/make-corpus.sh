#!/usr/bin/env bash
# Regenerates the seed corpus in fuzz/corpus/ (committed; run this only to change it).
# Videos come from the ffmpeg CLI, damaged variants from fixed byte edits, models and
# arrays from fvc's own writers (fvc-native-check seed), safetensors from a few lines
# of Python following the format. Every file stays small so a fuzz iteration is fast.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=${1:?usage: fuzz/make-corpus.sh path/to/fvc-native-check}
out=$root/fuzz/corpus
rm -rf "$out" && mkdir -p "$out/video" "$out/safetensors" "$out/pth"
src=(-f lavfi -i testsrc2=size=64x48:rate=12:duration=1)
v=$out/video
ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 4 -bf 2 -pix_fmt yuv420p "$v/h264.mp4"
ffmpeg -v error -y "${src[@]}" -c:v mpeg4 -g 4 "$v/mpeg4.avi"
ffmpeg -v error -y "${src[@]}" -c:v libvpx-vp9 -g 4 -b:v 50k "$v/vp9.webm"
ffmpeg -v error -y "${src[@]}" -c:v mjpeg -q:v 8 "$v/mjpeg.mkv"
ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 4 -f h264 "$v/raw.h264"
ffmpeg -v error -y "${src[@]}" -c:v libx265 -g 4 -x265-params log-level=none -tag:v hvc1 "$v/hevc.mp4"
ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 4 -metadata:s:v rotate=90 -pix_fmt yuv420p "$v/rotated.mov"
ffmpeg -v error -y -f lavfi -i testsrc2=size=32x24:rate=12:duration=0.25 -pix_fmt yuv420p "$v/clip.y4m"
# The damage the bad-input campaign of issue 22 found reported as nothing: a zeroed
# header, flipped bytes in the first GOP, a truncated tail.
/usr/bin/python3 - "$v" "$out/safetensors" <<'PY'
import json, struct, sys
v, st = sys.argv[1], sys.argv[2]
def edit(src, dst, f):
    b = bytearray(open(f"{v}/{src}", "rb").read()); f(b); open(f"{v}/{dst}", "wb").write(bytes(b))
def zero_head(b): b[:1024] = bytes(1024)
def flip(b):
    for i in range(900, 1800, 97): b[i] ^= 0x5a
edit("mpeg4.avi", "damaged-zeroed-header.avi", zero_head)
edit("h264.mp4", "damaged-flipped.mp4", flip)
edit("raw.h264", "damaged-flipped.h264", flip)
edit("h264.mp4", "damaged-truncated.mp4", lambda b: b.__delitem__(slice(len(b) * 2 // 3, None)))
def safetensors(path, tensors, metadata=None):
    header, data = {}, b""
    if metadata: header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
f32 = lambda *xs: struct.pack(f"<{len(xs)}f", *xs)
safetensors(f"{st}/weights.safetensors", [("conv.weight", "F32", [2, 1, 1, 2], f32(0.5, -1, 2, 0.25)), ("conv.bias", "F32", [2], f32(0, 1)),
    ("bn.num_batches_tracked", "I64", [], struct.pack("<q", 3)), ("half", "F16", [2], b"\x00\x3c\x00\xc0"), ("bf", "BF16", [1], b"\x80\x3f")],
    {"format": "pt"})
safetensors(f"{st}/empty.safetensors", [])
PY
# torch.save files as PyTorch writes them (python3-torch): the zip format and the legacy
# stream, a DataParallel state dict, a checkpoint holding one under model_state, views
# sharing one storage (offsets, transposed strides), half precision and integers.
/usr/bin/python3 - "$out/pth" <<'PY'
import sys, torch
d = sys.argv[1]
torch.manual_seed(0)
sd = {"conv.weight": torch.randn(2, 1, 1, 2), "conv.bias": torch.randn(2), "bn.num_batches_tracked": torch.tensor(3),
      "half": torch.randn(3).half(), "mask": torch.tensor([True, False])}
base = torch.arange(12.0)
views = {"slice": base[2:6], "transposed": base.view(3, 4).t(), "whole": base}
torch.save(sd, f"{d}/state.pth")
torch.save(sd, f"{d}/legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"module." + k: v for k, v in sd.items()}, f"{d}/dataparallel.pth")
torch.save({"model_state": sd, "epoch": 3, "optimizer_state": {"lr": 0.1, "state": [1, 2.5, None, "x"]}}, f"{d}/checkpoint.pyth")
torch.save(views, f"{d}/views.pth")
torch.save(views, f"{d}/views-legacy.pth", _use_new_zipfile_serialization=False)
PY
"$check" seed "$out"
find "$out" -name '*.tmp-*' -delete
du -sh "$out"
