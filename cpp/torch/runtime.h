#pragma once
// LibTorch process-wide settings, behind a header that does not pull in
// torch/torch.h so the rest of the core compiles without it.
#include <string>

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

}  // namespace fvc::torchrt
