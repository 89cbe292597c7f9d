#include "torch/residual_cnn.h"

#include "torch/naive_cnn.h"

namespace fvc::deep {

torch::Tensor srmKernelsRgb() {
  // Fridrich & Kodovsky's rich-model residuals as Zhou et al. 2018 chose them.
  const float kv[25] = {-1, 2, -2, 2, -1, 2, -6, 8, -6, 2, -2, 8, -12, 8, -2, 2, -6, 8, -6, 2, -1, 2, -2, 2, -1};
  const float kb[25] = {0, 0, 0, 0, 0, 0, -1, 2, -1, 0, 0, 2, -4, 2, 0, 0, -1, 2, -1, 0, 0, 0, 0, 0, 0};
  const float h2[25] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  torch::Tensor k = torch::stack({torch::tensor(std::vector<float>(kv, kv + 25)) / 12, torch::tensor(std::vector<float>(kb, kb + 25)) / 4,
                                  torch::tensor(std::vector<float>(h2, h2 + 25)) / 2})
                        .view({3, 1, 5, 5});
  return k.repeat({1, 3, 1, 1}).contiguous();
}

namespace {

namespace nn = torch::nn;

// A fixed or constrained filter layer, then naive_cnn's CNN per frame, the features
// averaged over time, dropout 0.5, a linear head.
struct ResidualCnn : VideoModel {
  explicit ResidualCnn(int64_t numClasses, const Scale& scale) {
    int64_t channels = 0;
    cnn = register_module("features", frameCnn(scale, &channels));
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc = register_module("fc", nn::Linear(channels, numClasses));
    dim = channels;
  }
  virtual torch::Tensor residual(const torch::Tensor& frames) = 0;
  torch::Tensor features(torch::Tensor clips) override {
    const int64_t b = clips.size(0), t = clips.size(2);
    torch::Tensor x = clips.transpose(1, 2).reshape({b * t, clips.size(1), clips.size(3), clips.size(4)});
    x = torch::adaptive_avg_pool2d(cnn->forward(residual(x)), {1, 1}).flatten(1);
    return x.view({b, t, -1}).mean(1);
  }
  int64_t featureDim() const override { return dim; }
  torch::Tensor forward(torch::Tensor clips) override { return fc->forward(dropout->forward(features(clips))); }

  int64_t dim = 0;
  nn::Sequential cnn{nullptr};  // registered as "features", naive_cnn's name
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
};

struct SrmCnn : ResidualCnn {
  using ResidualCnn::ResidualCnn;
  torch::Tensor residual(const torch::Tensor& frames) override {
    return torch::hardtanh(torch::conv2d(frames, kernels.to(frames.options()), torch::Tensor(), 1, 2), -3.0, 3.0);
  }
  // Fixed: kept out of the parameters and the state dict, moved to the input's device per call.
  torch::Tensor kernels = srmKernelsRgb();
};

struct ConstrainedCnn : ResidualCnn {
  ConstrainedCnn(int64_t numClasses, const Scale& scale) : ResidualCnn(numClasses, scale) {
    constrained = register_module("constrained", nn::Conv2d(nn::Conv2dOptions(3, 3, 5).padding(2).bias(false)));
    afterOptimizerStep();
  }
  torch::Tensor residual(const torch::Tensor& frames) override { return constrained->forward(frames); }
  // Each 5x5 filter: centre -1, the other 24 weights scaled to sum to +1.
  void afterOptimizerStep() override {
    torch::NoGradGuard noGrad;
    torch::Tensor w = constrained->weight;
    w.select(2, 2).select(2, 2).zero_();
    torch::Tensor sum = w.sum({2, 3}, true);
    // A sum of exactly zero has no direction to keep: it becomes a tiny positive one.
    sum = torch::where(sum.abs() < 1e-12, torch::full_like(sum, 1e-12), sum);
    w.div_(sum);
    w.select(2, 2).select(2, 2).fill_(-1.0);
  }
  nn::Conv2d constrained{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> srm_cnn(int64_t numClasses, const Scale& scale) { return std::make_shared<SrmCnn>(numClasses, scale); }
std::shared_ptr<VideoModel> constrained_cnn(int64_t numClasses, const Scale& scale) { return std::make_shared<ConstrainedCnn>(numClasses, scale); }

}  // namespace fvc::deep
