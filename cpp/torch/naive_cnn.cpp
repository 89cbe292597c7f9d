#include "torch/naive_cnn.h"

#include "torch/batch_norm.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

struct NaiveCnn : VideoModel {
  NaiveCnn(int64_t numClasses, const Scale& scale) {
    int64_t channels = 0;
    features = register_module("features", frameCnn(scale, &channels));
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc = register_module("fc", nn::Linear(channels, numClasses));
  }
  torch::Tensor forward(torch::Tensor x) override {
    const int64_t b = x.size(0), t = x.size(2);
    // [B, C, T, H, W] -> one image per frame.
    x = x.transpose(1, 2).reshape({b * t, x.size(1), x.size(3), x.size(4)});
    x = torch::adaptive_avg_pool2d(features->forward(x), {1, 1}).flatten(1);
    x = x.view({b, t, -1}).mean(1);
    return fc->forward(dropout->forward(x));
  }
  nn::Sequential features{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
};

}  // namespace

nn::Sequential frameCnn(const Scale& scale, int64_t* channels) {
  const int64_t c[4] = {scaled(32, scale), scaled(64, scale), scaled(128, scale), scaled(256, scale)};
  nn::Sequential features;
  int64_t in = 3;
  // Four stages of one block each. depth caps blocks per stage, as in the ResNets, so
  // it leaves this network whole; capping the stages instead made depth 1 a single
  // convolution that could not fit a real corpus.
  for (int64_t i = 0; i < 4; ++i) {
    features->push_back(nn::Conv2d(nn::Conv2dOptions(in, c[i], 3).padding(1).bias(false)));
    features->push_back(BatchNorm2d(c[i]));
    features->push_back(nn::ReLU(nn::ReLUOptions(true)));
    features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    in = c[i];
  }
  for (auto& m : features->modules(false))
    if (auto* conv = m->as<nn::Conv2dImpl>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  *channels = in;
  return features;
}

std::shared_ptr<VideoModel> naive_cnn(int64_t numClasses, const Scale& scale) { return std::make_shared<NaiveCnn>(numClasses, scale); }

}  // namespace fvc::deep
