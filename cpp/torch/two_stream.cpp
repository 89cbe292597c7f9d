#include "torch/two_stream.h"

#include "torch/video_resnet.h"

namespace fvc::deep {
namespace {

struct TwoStream : VideoModel {
  TwoStream(int64_t numClasses, const Scale& scale) {
    rgb = register_module("rgb", mc3_18_stream(3, scale));
    flow = register_module("flow", mc3_18_stream(2, scale));
    dropout = register_module("dropout", torch::nn::Dropout(0.5));
    fc = register_module("fc", torch::nn::Linear(rgb->featureDim() + flow->featureDim(), numClasses));
    torch::nn::init::normal_(fc->weight, 0, 0.01);
    torch::nn::init::zeros_(fc->bias);
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor joint = torch::cat({rgb->features(x.slice(1, 0, 3)), flow->features(x.slice(1, 3, 5))}, 1);
    return fc->forward(dropout->forward(joint));
  }
  std::shared_ptr<VideoModel> rgb, flow;
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> two_stream(int64_t numClasses, const Scale& scale) { return std::make_shared<TwoStream>(numClasses, scale); }

}  // namespace fvc::deep
