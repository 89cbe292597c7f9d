#pragma once
// The deep-learning engine as the rest of the core sees it: plain C++ types only,
// so the JS-facing API compiles without LibTorch's headers.
#include <cstdint>
#include <string>
#include <vector>

namespace fvc::deep {

// Width multiplies every channel count; depth > 0 caps the blocks per stage.
// Tests and CPU demos train small variants; 1.0 / 0 is the published architecture.
struct Scale {
  double width = 1.0;
  int depth = 0;
};

struct ModelDescription {
  std::string name;
  std::string family;
  std::string description;
  // One input tensor's shape without the batch dimension: [C, T, H, W].
  std::vector<int64_t> inputShape;
  int64_t parameters = 0;
};

std::vector<std::string> modelNames();
ModelDescription describeModel(const std::string& name, int64_t numClasses, const Scale& scale);

struct LogitsRequest {
  std::string model;
  int64_t numClasses = 2;
  Scale scale;
  std::string weights;  // .safetensors; empty: the model's own initialisation (seeded)
  std::string input;    // float32 .npy [C, T, H, W] or [B, C, T, H, W]
  uint64_t seed = 0;
};

struct LogitsResult {
  std::vector<float> logits;
  std::vector<int64_t> shape;
  int64_t loaded = 0;             // tensors taken from the file
  std::vector<std::string> head;  // head tensors left initialised (class count differs)
};

LogitsResult logits(const LogitsRequest& request);

}  // namespace fvc::deep
