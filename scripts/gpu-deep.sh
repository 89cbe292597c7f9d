#!/usr/bin/env bash
# The deep-model checks and the GPU benchmark on a machine with a CUDA PyTorch and
# nothing else (no Node, no FFmpeg/OpenCV/XGBoost): the `device` tool's GPU machines.
# Builds fvc's LibTorch core with -DFVC_TORCH_ONLY=ON against that PyTorch's LibTorch,
# runs fvc-deep-check on CUDA (native kernels, one epoch of every architecture through
# fvc's trainer, training steps at standard sizes with bf16 autocast), then the same
# steps in the machine's PyTorch (benchmarks/deep_python.py). Results go to $OUT.
#
#   run (device tool):  bash scripts/gpu-deep.sh
#   locally on CPU:     FVC_DEVICE=cpu OUT=/tmp/gpu-deep bash scripts/gpu-deep.sh
#
# Environment: FVC_DEVICE (cuda), BENCH_STEPS (8), BENCH_BATCH_MULT (4: batches of 16,
# 16 and 8 clips), THREADS (all cores), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/.work/gpu-deep}
DEVICE=${FVC_DEVICE:-cuda}
STEPS=${BENCH_STEPS:-8}
MULT=${BENCH_BATCH_MULT:-4}
THREADS=${THREADS:-$(nproc)}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# One build folder per LibTorch: a CMake cache keeps the libraries it found first.
build=build-torch-only/$(printf %s "$prefix" | md5sum | cut -c1-12)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DFVC_TORCH_ONLY=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" > "$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
cmake --build "$build" --parallel "$THREADS" > "$OUT/build.log" 2>&1 || { grep -m 20 -A 5 'error' "$OUT/build.log"; exit 1; }

{
  echo "date: $(date -u +%F)"
  echo "machine: $(nproc) cores; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no GPU')"
  echo "python torch: $("$PYTHON" -c 'import torch; print(torch.__version__, torch.version.cuda)')"
} | tee "$OUT/machine.txt"

status=0
"$build/fvc-deep-check" --device "$DEVICE" --threads "$THREADS" --work "$OUT/work" --bench "$STEPS" --batch-mult "$MULT" | tee "$OUT/fvc.txt" || status=$?

# The same steps in PyTorch: median s/step over $STEPS steps after one warm-up step.
echo "| model | batch | PyTorch s/step | PyTorch clips/s |" | tee "$OUT/pytorch.md"
echo "|---|---|---|---|" | tee -a "$OUT/pytorch.md"
for spec in r2plus1d_18:4 x3d_s:4 slowfast_r50:2 vit_gru_s16:2 timesformer_ti16:2 vit_gru:1; do
  IFS=: read -r model batch <<< "$spec"
  # Frames and crop from the native registry's preset, as fvc's own steps use them.
  read -r frames size _ < <("$build/fvc-deep-check" --preset "$model")
  batch=$((batch * MULT))
  if json=$("$PYTHON" benchmarks/deep_python.py "$model" "$frames" "$size" "$batch" "$STEPS" "$THREADS" "$DEVICE" 2>> "$OUT/pytorch.err"); then
    "$PYTHON" -c 'import json, statistics, sys; j = json.loads(sys.argv[1]); s = statistics.median(j["step_seconds"]); print(f"| {sys.argv[2]} | {sys.argv[3]} | {s:.3f} | {int(sys.argv[3]) / s:.1f} |")' "$json" "$model" "$batch" | tee -a "$OUT/pytorch.md"
  else
    echo "| $model | $batch | failed (see pytorch.err) | |" | tee -a "$OUT/pytorch.md"
  fi
done
exit "$status"
