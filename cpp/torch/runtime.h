#pragma once
// LibTorch process-wide settings, behind a header that does not pull in
// torch/torch.h so the rest of the core compiles without it.
#include <algorithm>
#include <string>
#include <vector>

namespace fvc::torchrt {

std::string version();
// ATen's build configuration text (at::show_config(): compiler, CUDA runtime, cuDNN, BLAS, ...).
std::string buildConfig();
// The file of the loaded LibTorch (libtorch_cpu.so), found through the dynamic linker.
std::string libraryPath();
bool cudaAvailable();
int cudaDeviceCount();
int intraOpThreads();
// n > 0 sets LibTorch's intra-op thread pool size (it starts at one thread on
// some builds, which makes every CPU model silently slow).
void setThreads(int n);
// Gives the calling thread the count setThreads asked for (torchGuard does it for every operation).
void applyThreads();
// "auto" -> "cuda" when LibTorch sees a GPU, else "cpu"; "cuda" or "cuda:N" without
// that GPU is an error.
std::string resolveDevice(const std::string& requested);

// fvc's own CPU kernels (where it replaces LibTorch's, see depthwise_conv3d.h)
// against LibTorch's on random inputs: the largest absolute differences of the
// output and of both gradients, each relative to the reference's largest magnitude.
// A case passes at 1e-4: float32 sums in another order differ by ~1e-7, a wrong index by ~1.
struct KernelCheck {
  static constexpr double kTolerance = 1e-4;
  std::string kernel, shape;
  double forward = 0, gradInput = 0, gradWeight = 0;
  double largest() const { return std::max({forward, gradInput, gradWeight}); }
  bool ok() const { return largest() <= kTolerance; }  // false for NaN too
};
std::vector<KernelCheck> checkKernels();

}  // namespace fvc::torchrt
