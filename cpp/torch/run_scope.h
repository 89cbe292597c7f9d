#pragma once
// Scopes every native deep-learning run opens: bf16 autocast on CUDA, and the CPU
// block cache released when the run ends.
#include <torch/torch.h>

#include "torch/autocast.h"
#include "torch/cpu_allocator.h"

namespace fvc::deep {

// bf16 autocast on CUDA for the guard's lifetime (thread-local, like PyTorch's
// torch.autocast): matrix products and convolutions run in bfloat16, reductions and
// the loss in float32. bf16 keeps float32's range, so no loss scaling is needed.
struct Autocast {
  explicit Autocast(bool on) : on_(on) {
    if (!on_) return;
    torchrt::enableCudaAutocast(at::kBFloat16);
  }
  ~Autocast() {
    if (!on_) return;
    at::autocast::clear_cache();
    torchrt::disableCudaAutocast();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_;
};

// Declared first in a run, so it outlives the run's tensors: the blocks they give
// back are freed with the cache, on success or error.
struct CpuCacheScope {
  CpuCacheScope() = default;
  CpuCacheScope(const CpuCacheScope&) = delete;
  CpuCacheScope& operator=(const CpuCacheScope&) = delete;
  ~CpuCacheScope() { torchrt::releaseCpuCache(); }
};

}  // namespace fvc::deep
