// fvc-deep-check: the deep-learning core without Node, for machines that have a GPU
// but no Node or system libraries (built with -DFVC_TORCH_ONLY=ON against the
// machine's own LibTorch; scripts/gpu-deep.sh). It runs what the deep-model tests
// run through the addon — the native kernels against LibTorch's, one training epoch
// of every registered architecture at a small scale through fvc's trainer, clip
// loader and checkpoints — on the chosen device, then optionally times training
// steps of r2plus1d_18, x3d_s, slowfast_r50 and the transformers (vit_gru on ViT-S/16
// and ViT-B/16, TimeSformer on ViT-Ti/16) at their standard input sizes.
// Exit status 1 when any check fails.
//
//   fvc-deep-check --device cuda --threads 16 --work /tmp/fvc-check [--bench STEPS] [--batch-mult K]
//   fvc-deep-check --preset r2plus1d_18   prints "frames crop frame_size" of its preset (for scripts)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "io/npy.h"
#include "torch/deep.h"
#include "torch/runtime.h"

namespace fs = std::filesystem;
using namespace fvc;

namespace {

struct Args {
  std::string device = "cpu", work = "fvc-deep-check", preset;
  int threads = 2, benchSteps = 0, batchMult = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + ": needs a value");
      return argv[++i];
    };
    if (k == "--device") a.device = next();
    else if (k == "--work") a.work = next();
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--bench") a.benchSteps = std::stoi(next());
    else if (k == "--batch-mult") a.batchMult = std::stoi(next());
    else if (k == "--preset") a.preset = next();
    else throw std::runtime_error("unknown argument " + k + " (see the header of cpp/tools/deep_check.cpp)");
  }
  return a;
}

// Frame-cache-shaped clips: uint8 [frames, size, size, channels], random but seeded.
std::string writeClip(const fs::path& path, int frames, int size, int channels, uint32_t seed) {
  std::vector<uint8_t> data(static_cast<size_t>(frames) * size * size * channels);
  std::mt19937 rng(seed);
  for (auto& v : data) v = static_cast<uint8_t>(rng() & 0xff);
  writeNpy(path.string(), NpyType::Uint8, {frames, size, size, channels}, data.data());
  return path.string();
}

std::vector<deep::Clip> clips(const fs::path& dir, int n, int frames, int size, bool flow, uint32_t seed) {
  fs::create_directories(dir);
  std::vector<deep::Clip> out;
  for (int i = 0; i < n; ++i) {
    deep::Clip c;
    c.npy = writeClip(dir / ("clip" + std::to_string(i) + ".npy"), frames, size, 3, seed + i);
    if (flow) c.flow = writeClip(dir / ("clip" + std::to_string(i) + ".flow.npy"), frames, size, 2, seed + 1000 + i);
    c.label = i % 2;
    out.push_back(c);
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

int failures = 0;
void report(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

void checkKernels() {
  for (const auto& c : torchrt::checkKernels()) {
    char line[256];
    std::snprintf(line, sizeof line, "%s (%s): largest relative difference %.1e", c.kernel.c_str(), c.shape.c_str(), c.largest());
    report(c.ok(), line);
  }
}

// One epoch of every architecture at a small scale: forward, backward, optimiser,
// validation and checkpoints on the device.
void checkArchitectures(const Args& a) {
  const auto rgb = clips(fs::path(a.work) / "small", 8, 8, 48, true, 1);
  for (const auto& name : deep::modelNames()) {
    deep::TrainRequest r;
    r.model = name;
    r.scale = {0.125, 1};
    r.train = rgb;
    r.val = std::vector<deep::Clip>(rgb.begin(), rgb.begin() + 4);
    r.input.numFrames = 8;
    r.input.cropSize = std::max<int>(32, static_cast<int>(deep::describeModel(name, 2, r.scale).preset.minSide));
    r.epochs = 1;
    r.batchSize = 4;
    r.microBatch = 2;
    r.lrHead = 1e-3;
    r.outDir = (fs::path(a.work) / "out" / name).string();
    r.resume = false;
    r.device = a.device;
    try {
      const auto res = deep::train(
          r, [](const deep::EpochStats&) {}, [] { return false; });
      const double loss = res.epochs.empty() ? NAN : res.epochs[0].trainLoss;
      report(std::isfinite(loss) && res.valProbs.size() == 4, name + ": one epoch on " + a.device + ", train loss " + std::to_string(loss));
    } catch (const std::exception& e) {
      report(false, name + ": " + e.what());
    }
  }
}

// Training steps at standard input sizes through the real trainer (loader included).
void bench(const Args& a) {
  struct Spec {
    const char* name;
    int batch;
  };
  const Spec specs[] = {{"r2plus1d_18", 4}, {"x3d_s", 4}, {"slowfast_r50", 2}, {"vit_gru_s16", 2}, {"timesformer_ti16", 2}, {"vit_gru", 1}};
  std::printf("\n| model | batch | device | mixed precision | s/step | clips/s | data wait |\n|---|---|---|---|---|---|---|\n");
  for (const auto& s : specs) {
    const int batch = s.batch * a.batchMult;
    // The preset's input ([C, T, H, W]), as the native registry states it.
    const auto shape = deep::describeModel(s.name, 2, {0.05, 1}).inputShape;
    const int frames = static_cast<int>(shape[1]), size = static_cast<int>(shape[2]);
    deep::TrainRequest r;
    r.model = s.name;
    r.train = clips(fs::path(a.work) / "bench" / s.name, batch * a.benchSteps, frames, size, false, 7);
    r.val = {r.train.front()};
    r.input.numFrames = frames;
    r.input.cropSize = size;
    r.epochs = 3;  // the first warms up (allocator, cuDNN autotuning)
    r.batchSize = batch;
    r.warmupEpochs = 0;
    r.outDir = (fs::path(a.work) / "bench-out" / s.name).string();
    r.resume = false;
    r.device = a.device;
    r.loaderThreads = 4;
    try {
      const auto res = deep::train(
          r, [](const deep::EpochStats&) {}, [] { return false; });
      std::vector<double> step, wait;
      for (size_t e = 1; e < res.epochs.size(); ++e) {
        step.push_back(res.epochs[e].trainSeconds / a.benchSteps);
        wait.push_back(res.epochs[e].dataWait);
      }
      const double st = median(step);
      std::printf("| %s | %d x [3, %d, %d, %d] | %s | %s | %.3f | %.1f | %.1f%% |\n", s.name, batch, frames, size, size, a.device.c_str(),
                  a.device == "cuda" ? "bf16" : "no", st, batch / st, 100 * median(wait));
      std::fflush(stdout);
    } catch (const std::exception& e) {
      report(false, std::string(s.name) + " benchmark: " + e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (!a.preset.empty()) {
      const auto d = deep::describeModel(a.preset, 2, {0.05, 1});
      std::printf("%lld %lld %lld\n", static_cast<long long>(d.inputShape[1]), static_cast<long long>(d.inputShape[2]),
                  static_cast<long long>(d.preset.frameSize));
      return 0;
    }
    torchrt::setThreads(a.threads);
    std::printf("LibTorch %s, CUDA %s (%d device(s)), %d threads, device %s\n", torchrt::version().c_str(), torchrt::cudaAvailable() ? "yes" : "no",
                torchrt::cudaDeviceCount(), a.threads, a.device.c_str());
    torchrt::resolveDevice(a.device);  // refuses cuda without a GPU
    checkKernels();
    checkArchitectures(a);
    if (a.benchSteps > 0) bench(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fvc-deep-check: %s\n", e.what());
    return 2;
  }
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
