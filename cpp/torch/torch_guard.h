#pragma once
// LibTorch's own errors carry a C++ backtrace in what(); users get the message
// with a stable code instead.
#include <torch/torch.h>

#include "common/error.h"
#include "torch/cpu_allocator.h"
#include "torch/runtime.h"

namespace fvc::deep {

template <typename F>
auto torchGuard(F&& f) -> decltype(f()) {
  try {
    torchrt::applyThreads();
    torchrt::installCpuCache();
    return f();
  } catch (const c10::Error& e) {
    throw Error(code::kTorch, e.what_without_backtrace());
  }
}

}  // namespace fvc::deep
