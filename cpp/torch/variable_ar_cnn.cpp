#include "torch/variable_ar_cnn.h"

#include "torch/naive_cnn.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

struct VariableArCnn : VideoModel {
  VariableArCnn(int64_t numClasses, const Scale& scale) {
    int64_t channels = 0;
    features = register_module("features", frameCnn(scale, &channels));
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc = register_module("fc", nn::Linear(channels, numClasses));
  }
  torch::Tensor forward(torch::Tensor x) override {
    const int64_t b = x.size(0), t = x.size(2);
    // [B, 4, T, H, W] -> one image and one mask per frame.
    x = x.transpose(1, 2).reshape({b * t, x.size(1), x.size(3), x.size(4)});
    torch::Tensor m = x.slice(1, 3, 4);
    // Padding is zeroed at the input and after every stage, so each stage sees real
    // frames bordered by zeros exactly as a frame alone sees its convolution padding:
    // a clip's logits do not depend on what it was batched with (when its sides are
    // multiples of the network's stride, 16).
    torch::Tensor f = x.slice(1, 0, 3) * m;
    for (auto& layer : *features) {
      f = layer.forward<torch::Tensor>(f);
      if (layer.ptr()->as<nn::MaxPool2dImpl>()) {
        m = torch::max_pool2d(m, 2);
        f = f * m;
      }
    }
    // A frame too small for every stage leaves an empty mask: its features count as zero.
    torch::Tensor pooled = (f * m).sum({2, 3}) / m.sum({2, 3}).clamp_min(1e-6);
    pooled = pooled.view({b, t, -1}).mean(1);
    return fc->forward(dropout->forward(pooled));
  }
  nn::Sequential features{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> variable_ar_cnn(int64_t numClasses, const Scale& scale) { return std::make_shared<VariableArCnn>(numClasses, scale); }

}  // namespace fvc::deep
