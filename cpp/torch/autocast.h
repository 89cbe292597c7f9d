#pragma once
// LibTorch's autocast switches across the versions fvc builds against: Debian's 1.13 has
// per-device functions (set_enabled, is_cpu_enabled, set_autocast_gpu_dtype); 2.4 made
// them take a device type and deprecated the old ones with a warning on every call.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace fvc::torchrt {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool cpuAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCPU); }
inline void enableCudaAutocast(at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
}
inline void disableCudaAutocast() { at::autocast::set_autocast_enabled(at::kCUDA, false); }
inline bool cudaAutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
#else
inline bool cpuAutocastEnabled() { return at::autocast::is_cpu_enabled(); }
inline void enableCudaAutocast(at::ScalarType dtype) {
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(true);
}
inline void disableCudaAutocast() { at::autocast::set_enabled(false); }
inline bool cudaAutocastEnabled() { return at::autocast::is_enabled(); }
#endif

}  // namespace fvc::torchrt
