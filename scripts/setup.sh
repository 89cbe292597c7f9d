#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine: system packages, npm
# dependencies, the native addon and the TypeScript build. A second run with
# nothing to do takes a few seconds.
#   scripts/setup.sh            runtime + build dependencies
#   scripts/setup.sh --test     also what the test suite compares against
#   scripts/setup.sh --bench    also what the benchmarks compare against
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Build and runtime: the native core's libraries, ffmpeg for the corpus generator,
# OpenBLAS so LibTorch's matrix products are not ~48x slower, DejaVu for plots.
packages=(build-essential cmake pkg-config ninja-build
  libtorch-dev libxgboost-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libopencv-dev liblinear-dev libsvm-dev zlib1g-dev libdlib-dev libgloo-dev libopenblas0-pthread fonts-dejavu-core ffmpeg)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(python3-numpy python3-sklearn python3-xgboost python3-yaml python3-pil python3-torch python3-torchvision python3-opencv python3-av python3-jinja2 python3-imageio chromium slurm-wlm munge unzip clang-format) ;;
    --bench) packages+=(python3-numpy python3-av python3-sklearn python3-xgboost python3-torch python3-torchvision) ;;
    *) log "unknown option $arg"; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root:  apt-get update && $cmd"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.fvc-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
fi

# Native addon: cmake-js reconfigures only when needed and the build is incremental.
# FVC_LIBTORCH (a LibTorch or PyTorch's cmake_prefix_path) / FVC_XGBOOST build against those.
jobs=$(nproc)
own=()
if [ -n "${FVC_LIBTORCH:-}" ]; then
  prefix=$FVC_LIBTORCH
  [ -f "$prefix/Torch/TorchConfig.cmake" ] || prefix=$FVC_LIBTORCH/share/cmake
  [ -f "$prefix/Torch/TorchConfig.cmake" ] || { log "FVC_LIBTORCH=$FVC_LIBTORCH: no Torch/TorchConfig.cmake there or under share/cmake"; exit 1; }
  own+=("--CDCMAKE_PREFIX_PATH=$prefix")
  log "building against FVC_LIBTORCH ($prefix)"
fi
if [ -n "${FVC_XGBOOST:-}" ]; then
  own+=("--CDXGBOOST_ROOT=$FVC_XGBOOST")
  log "building against FVC_XGBOOST ($FVC_XGBOOST)"
fi
log "native build (cmake-js, $jobs jobs)"
if ! npx --no-install cmake-js build --parallel "$jobs" "${own[@]}" >build.log 2>&1; then
  tail -n 60 build.log >&2
  log "native build failed; full log in build.log"
  exit 1
fi

log "typescript build"
npx --no-install tsc -p tsconfig.json
log "ready"
