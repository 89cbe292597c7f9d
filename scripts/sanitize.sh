#!/usr/bin/env bash
# Builds fvc-native-check with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# native readers of users' files under them: every file of the seed corpus (including
# its damaged videos), then a bounded seeded fuzz run per reader (fuzz/README.md).
# Any sanitizer report, crash or untyped exception fails the script.
#   scripts/sanitize.sh [seconds per reader, default 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build=${FVC_SANITIZE_BUILD:-$root/build-sanitize}
corpus=$root/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFVC_SANITIZE=ON -DFVC_WERROR=ON >"$build-configure.log" 2>&1 ||
  { cat "$build-configure.log"; exit 1; }
cmake --build "$build" --target fvc-native-check --parallel "${FVC_BUILD_JOBS:-2}" >"$build-build.log" 2>&1 || { tail -50 "$build-build.log"; exit 1; }
check=$build/fvc-native-check

# halt_on_error: the first report fails the run. Leaks in libav/OpenCV/XGBoost's global
# state are not ours to fix and not what this run looks for. The memory limit makes an
# allocation bomb a finding rather than a slow pass: one allocation over 1 GiB fails
# (std::bad_alloc, an untyped exception) and a resident size over 3 GiB aborts. ASan
# reserves terabytes of shadow address space, so RLIMIT_AS cannot be the limit here.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=1024:hard_rss_limit_mb=3072
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for kind in video safetensors npy pth xgboost liblinear libsvm; do
  "$check" read "$kind" "$corpus/$kind"/* || status=1
done
i=0
# XGBoost is read above but not fuzzed: its own loader crashes on damaged models
# (fuzz/README.md); fvc checks a saved model's SHA-256 before XGBoost sees it.
for kind in video safetensors npy pth liblinear libsvm; do
  mkdir -p "$work/$kind"
  if ! "$check" fuzz "$kind" "$corpus/$kind" --seconds "$seconds" --iterations 1000000 --seed $((2026 + i)) --work "$work/$kind"; then
    status=1
    [ -f "$work/$kind/current" ] && cp "$work/$kind/current" "$root/fuzz/finding-$kind" && echo "input kept as fuzz/finding-$kind"
  fi
  i=$((i + 1))
done
exit $status
