#pragma once
// LibTorch process-wide settings, behind a header that does not pull in
// torch/torch.h so the rest of the core compiles without it.
#include <string>
#include <vector>

namespace fvc::torchrt {

std::string version();
bool cudaAvailable();
int cudaDeviceCount();
int intraOpThreads();
// n > 0 sets LibTorch's intra-op thread pool size (it starts at one thread on
// some builds, which makes every CPU model silently slow).
void setThreads(int n);
// Gives the calling thread the count setThreads asked for (torchGuard does it for every operation).
void applyThreads();
// "auto" -> "cuda" when LibTorch sees a GPU, else "cpu"; "cuda" without a GPU is an error.
std::string resolveDevice(const std::string& requested);

// fvc's own CPU kernels (where it replaces LibTorch's, see depthwise_conv3d.h)
// against LibTorch's on random inputs: the largest absolute differences of the
// output and of both gradients, each relative to the reference's largest magnitude.
struct KernelCheck {
  std::string kernel, shape;
  double forward = 0, gradInput = 0, gradWeight = 0;
};
std::vector<KernelCheck> checkKernels();

}  // namespace fvc::torchrt
