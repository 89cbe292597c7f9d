#!/usr/bin/env bash
# The GPU rehearsal, one command on a GPU node that has Node, a CUDA PyTorch and the
# build libraries (README "GPU builds"), in under 10 minutes on one H100:
#   1. builds fvc against the node's PyTorch (FVC_LIBTORCH) and checks that fvc info
#      sees CUDA there;
#   2. runs fvc-deep-check on cuda:N: native kernels against LibTorch's, one epoch of
#      every architecture through fvc's trainer (bf16 autocast, which needs no gradient
#      scaling), and training steps at standard sizes with their step times; the GPU's
#      peak memory over those steps is sampled with nvidia-smi;
#   3. trains one fold of r2plus1d (r2plus1d_18) from torchvision's kinetics400 weights
#      on a generated corpus, end to end through fvc train, then runs the same command
#      again: the finished fold is found and reused, not trained twice;
#   4. data-parallel training, one rank against two (benchmarks/distributed.ts): over
#      NCCL with a GPU per rank when the node has two or more, else two ranks sharing
#      the GPU over Gloo (FVC_DIST_BACKEND=gloo), which exercises the path only.
# Everything it prints goes to $OUT (default benchmarks/.work/gpu-check) as well.
#
#   bash scripts/gpu-check.sh                # on the GPU node, in an fvc checkout
#   FVC_GPU_INDEX=1 bash scripts/gpu-check.sh  # another GPU of the node
#
# The weights come from the cache ($FVC_HOME/weights): without internet on the node,
# run `fvc weights fetch r2plus1d_18:kinetics400` where there is some, same FVC_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/.work/gpu-check}
GPU=${FVC_GPU_INDEX:-0}
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%T)"; }

step "1. fvc against this node's PyTorch"
FVC_LIBTORCH=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
export FVC_LIBTORCH
"$PYTHON" -c 'import torch; print("python torch", torch.__version__, "CUDA", torch.version.cuda, "GPUs", torch.cuda.device_count())'
bash scripts/setup.sh
node bin/fvc.js info --device "cuda:$GPU" | tee "$OUT/info.txt"

step "2. deep checks and step times on cuda:$GPU"
prefix=$FVC_LIBTORCH
build=build-torch-only/$(printf %s "$prefix" | md5sum | cut -c1-12)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DFVC_TORCH_ONLY=ON -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
cmake --build "$build" --parallel "$THREADS" >"$OUT/build-deep-check.log" 2>&1 || { grep -m 20 -A 5 error "$OUT/build-deep-check.log"; exit 1; }
nvidia-smi --id="$GPU" --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >"$OUT/gpu-memory.txt" 2>/dev/null &
sampler=$!
"$build/fvc-deep-check" --device "cuda:$GPU" --threads "$THREADS" --work "$OUT/deep-check" --bench 8 --batch-mult 4 | tee "$OUT/deep-check.txt"
kill "$sampler" 2>/dev/null || true
echo "peak GPU memory during the checks and steps: $(sort -n "$OUT/gpu-memory.txt" | tail -1) MiB"

step "3. one fold of r2plus1d from kinetics400 weights, end to end"
data=$OUT/data
rm -rf "$data"
node bin/fvc.js corpus --out "$data/corpus" --videos 40 --duration 2 --seed 1
node bin/fvc.js stage3 --metadata "$data/corpus/metadata.csv" --out "$data/stage3"
node bin/fvc.js weights fetch r2plus1d_18:kinetics400
node bin/fvc.js train --models r2plus1d --weights r2plus1d_18:kinetics400 --stage3-dir "$data/stage3" \
  --output-dir "$data/stage5" --frame-cache-dir "$data/cache" --n-splits 2 --folds 1 --epochs 2 \
  --device "cuda:$GPU" --threads "$THREADS" --no-tracking --no-plots
grep -h '"val_auc"\|"seconds"\|"peak_rss_mb"' "$data/stage5/r2plus1d/fold_1/metadata.json" | tee "$OUT/fold.txt"
node bin/fvc.js train --models r2plus1d --weights r2plus1d_18:kinetics400 --stage3-dir "$data/stage3" \
  --output-dir "$data/stage5" --frame-cache-dir "$data/cache" --n-splits 2 --folds 1 --epochs 2 \
  --device "cuda:$GPU" --threads "$THREADS" --no-tracking --no-plots 2>&1 | grep -m1 'already done'

step "4. data-parallel folds: one rank against two (benchmarks/distributed.ts)"
gpus=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')
node -e "const a = require('./build/Release/fvc.node'); console.log('process groups in this build:', a.distributedBackends().join(', ') || 'none')"
if [ "$gpus" -ge 2 ]; then
  # A GPU per rank over NCCL: the scaling the CPU table cannot show.
  BENCH_DEVICE=cuda BENCH_PYTHON="$PYTHON" BENCH_RESULTS_DIR="$OUT" node --import tsx benchmarks/distributed.ts | tee "$OUT/distributed.txt"
else
  # One GPU: two ranks share it over Gloo (NCCL refuses one GPU twice): the CUDA path of a distributed fold runs; no scaling.
  FVC_DIST_BACKEND=gloo BENCH_DEVICE=cuda BENCH_PYTHON="$PYTHON" BENCH_ROUNDS=1 BENCH_RESULTS_DIR="$OUT" node --import tsx benchmarks/distributed.ts | tee "$OUT/distributed.txt"
fi
step "done: $OUT"
