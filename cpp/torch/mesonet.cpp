#include "torch/mesonet.h"

#include <cmath>

#include "common/error.h"
#include "torch/batch_norm.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

// MesoNet's widths are already tiny: scaling keeps at least one channel, not four.
int64_t mesoWidth(int64_t channels, const Scale& scale) {
  if (!(scale.width > 0)) throw Error(code::kInvalidArgument, "scale.width: must be > 0");
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(channels) * scale.width)));
}

// Keras' Conv2D(padding='same') for odd kernels, with a bias.
nn::Conv2d sameConv(int64_t in, int64_t out, int64_t kernel, int64_t dilation = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(dilation * (kernel / 2)).dilation(dilation).bias(true));
}

// Keras' BatchNormalization(): momentum 0.99 (0.01 in PyTorch's convention), epsilon 1e-3.
BatchNorm2d kerasBatchNorm(int64_t channels) { return BatchNorm2d(nn::BatchNorm2dOptions(channels).momentum(0.01).eps(1e-3)); }

// MaxPooling2D(pool, padding='same') with stride = pool: a partial window at the edge counts.
torch::Tensor samePool(const torch::Tensor& x, int64_t pool) { return torch::max_pool2d(x, {pool, pool}, {pool, pool}, {0, 0}, {1, 1}, true); }

// One of MesoInception-4's blocks: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 dilated 2; 1x1 -> 3x3 dilated 3; concatenated.
struct InceptionImpl : nn::Module {
  InceptionImpl(int64_t in, int64_t a, int64_t b, int64_t c, int64_t d)
      : branch1(register_module("branch1", sameConv(in, a, 1))),
        branch2_1(register_module("branch2_1", sameConv(in, b, 1))),
        branch2_2(register_module("branch2_2", sameConv(b, b, 3))),
        branch3_1(register_module("branch3_1", sameConv(in, c, 1))),
        branch3_2(register_module("branch3_2", sameConv(c, c, 3, 2))),
        branch4_1(register_module("branch4_1", sameConv(in, d, 1))),
        branch4_2(register_module("branch4_2", sameConv(d, d, 3, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::cat(
        {torch::relu(branch1->forward(x)), torch::relu(branch2_2->forward(torch::relu(branch2_1->forward(x)))),
         torch::relu(branch3_2->forward(torch::relu(branch3_1->forward(x)))), torch::relu(branch4_2->forward(torch::relu(branch4_1->forward(x))))},
        1);
  }
  nn::Conv2d branch1, branch2_1, branch2_2, branch3_1, branch3_2, branch4_1, branch4_2;
};
TORCH_MODULE(Inception);

// What both networks share after their first two blocks: two 16-channel 5x5 conv blocks
// (pooled 2 and 4), then Flatten -> Dropout 0.5 -> Dense 16 -> LeakyReLU 0.1 -> Dropout 0.5 -> Dense.
struct MesoNet : VideoModel {
  MesoNet(int64_t inChannels, int64_t numClasses, const Scale& scale) {
    const int64_t c = mesoWidth(16, scale), hidden = mesoWidth(16, scale);
    conv3 = register_module("conv3", sameConv(inChannels, c, 5));
    bn3 = register_module("bn3", kerasBatchNorm(c));
    conv4 = register_module("conv4", sameConv(c, c, 5));
    bn4 = register_module("bn4", kerasBatchNorm(c));
    dim = c * kGrid * kGrid;
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc1 = register_module("fc1", nn::Linear(dim, hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, numClasses));
  }
  // The authors' initialisation (Keras defaults): Glorot-uniform kernels, zero biases.
  void initKeras() {
    for (auto& p : named_parameters()) {
      const std::string& name = p.key();
      const bool bn = name.rfind("bn", 0) == 0;
      if (bn) continue;
      torch::NoGradGuard noGrad;
      if (p.value().dim() > 1) nn::init::xavier_uniform_(p.value());
      else nn::init::zeros_(p.value());
    }
  }
  virtual torch::Tensor stem(torch::Tensor x) = 0;
  // [B*T, C, H, W] frames -> [B*T, dim]. At the authors' 256 px the last map is 8x8;
  // other crops are pooled to 8x8 so that the dense layer keeps its shape.
  torch::Tensor frameFeatures(torch::Tensor x) {
    x = samePool(bn3->forward(torch::relu(conv3->forward(stem(x)))), 2);
    x = samePool(bn4->forward(torch::relu(conv4->forward(x))), 4);
    if (x.size(2) != kGrid || x.size(3) != kGrid) x = torch::adaptive_avg_pool2d(x, {kGrid, kGrid});
    return x.flatten(1);
  }
  torch::Tensor features(torch::Tensor clips) override {
    const int64_t b = clips.size(0), t = clips.size(2);
    torch::Tensor x = clips.transpose(1, 2).reshape({b * t, clips.size(1), clips.size(3), clips.size(4)});
    return frameFeatures(x).view({b, t, -1}).mean(1);
  }
  int64_t featureDim() const override { return dim; }
  torch::Tensor forward(torch::Tensor clips) override {
    torch::Tensor x = dropout->forward(features(clips));
    x = torch::leaky_relu(fc1->forward(x), 0.1);
    return fc2->forward(dropout->forward(x));
  }
  std::vector<std::string> headPrefixes() const override { return {"fc2."}; }

  static constexpr int64_t kGrid = 8;
  int64_t dim = 0;
  nn::Conv2d conv3{nullptr}, conv4{nullptr};
  BatchNorm2d bn3{nullptr}, bn4{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

struct Meso4 : MesoNet {
  Meso4(int64_t numClasses, const Scale& scale) : MesoNet(mesoWidth(8, scale), numClasses, scale) {
    const int64_t c = mesoWidth(8, scale);
    conv1 = register_module("conv1", sameConv(3, c, 3));
    bn1 = register_module("bn1", kerasBatchNorm(c));
    conv2 = register_module("conv2", sameConv(c, c, 5));
    bn2 = register_module("bn2", kerasBatchNorm(c));
    initKeras();
  }
  torch::Tensor stem(torch::Tensor x) override {
    x = samePool(bn1->forward(torch::relu(conv1->forward(x))), 2);
    return samePool(bn2->forward(torch::relu(conv2->forward(x))), 2);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
};

struct MesoInception4 : MesoNet {
  MesoInception4(int64_t numClasses, const Scale& scale) : MesoNet(inception2Width(scale), numClasses, scale) {
    const auto w = [&](int64_t c) { return mesoWidth(c, scale); };
    const int64_t out1 = w(1) + w(4) + w(4) + w(2);
    incep1 = register_module("incep1", Inception(3, w(1), w(4), w(4), w(2)));
    bn1 = register_module("bn1", kerasBatchNorm(out1));
    incep2 = register_module("incep2", Inception(out1, w(2), w(4), w(4), w(2)));
    bn2 = register_module("bn2", kerasBatchNorm(inception2Width(scale)));
    initKeras();
  }
  static int64_t inception2Width(const Scale& scale) { return mesoWidth(2, scale) + 2 * mesoWidth(4, scale) + mesoWidth(2, scale); }
  torch::Tensor stem(torch::Tensor x) override {
    x = samePool(bn1->forward(incep1->forward(x)), 2);
    return samePool(bn2->forward(incep2->forward(x)), 2);
  }
  Inception incep1{nullptr}, incep2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> meso4(int64_t numClasses, const Scale& scale) { return std::make_shared<Meso4>(numClasses, scale); }
std::shared_ptr<VideoModel> meso_inception4(int64_t numClasses, const Scale& scale) { return std::make_shared<MesoInception4>(numClasses, scale); }

}  // namespace fvc::deep
