#include "torch/runtime.h"

#include <torch/version.h>

#include <dlfcn.h>

#include <atomic>

#include "common/error.h"
#include "torch/depthwise_conv3d.h"
#include "torch/torch_guard.h"

namespace fvc::torchrt {

std::string version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

std::string buildConfig() { return at::show_config(); }

std::string libraryPath() {
  Dl_info where{};
  return dladdr(reinterpret_cast<void*>(&at::get_num_threads), &where) && where.dli_fname ? where.dli_fname : "";
}

bool cudaAvailable() { return torch::cuda::is_available(); }

int cudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }

int intraOpThreads() { return at::get_num_threads(); }

namespace {
std::atomic<int> requestedThreads{0};
}

void setThreads(int n) {
  if (n <= 0) throw Error(code::kInvalidArgument, "threads: must be a positive integer");
  requestedThreads = n;
  at::set_num_threads(n);
}

void applyThreads() {
  // OpenMP's thread count is per thread: a worker thread would otherwise compute with
  // its own default (one thread here), whatever the JS thread asked for.
  const int n = requestedThreads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

std::string resolveDevice(const std::string& requested) {
  if (requested == "cpu") return "cpu";
  if (requested == "cuda") {
    if (!cudaAvailable())
      throw Error(code::kInvalidArgument, "device: 'cuda' was requested but LibTorch sees no CUDA device (this build: LibTorch " + version() +
                                              "; a CUDA build is needed, see README 'GPU builds')");
    return "cuda";
  }
  if (requested == "auto") return cudaAvailable() ? "cuda" : "cpu";
  // cuda:N picks one GPU (--gpu N); LibTorch parses the same string into its device.
  if (requested.rfind("cuda:", 0) == 0 && requested.size() > 5 && requested.size() < 9 &&
      requested.find_first_not_of("0123456789", 5) == std::string::npos) {
    const int index = std::stoi(requested.substr(5));
    if (!cudaAvailable())
      throw Error(code::kInvalidArgument, "device: '" + requested + "' was requested but LibTorch sees no CUDA device (this build: LibTorch " +
                                              version() + "; a CUDA build is needed, see README 'GPU builds')");
    if (index >= cudaDeviceCount())
      throw Error(code::kInvalidArgument,
                  "device: '" + requested + "': LibTorch sees " + std::to_string(cudaDeviceCount()) + " GPU(s), numbered from 0");
    return requested;
  }
  throw Error(code::kInvalidArgument, "device: unknown value '" + requested + "' (expected auto, cpu, cuda or cuda:<index>)");
}

std::vector<KernelCheck> checkKernels() {
  return deep::torchGuard([] { return deep::checkDepthwiseConv3d(); });
}

}  // namespace fvc::torchrt
