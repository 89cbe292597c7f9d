#pragma once
// LibTorch's own errors carry a C++ backtrace in what(); users get the message
// with a stable code instead.
#include <torch/torch.h>

#include "common/error.h"

namespace fvc::deep {

template <typename F>
auto torchGuard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Error(code::kTorch, e.what_without_backtrace());
  }
}

}  // namespace fvc::deep
