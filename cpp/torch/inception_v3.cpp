#include "torch/inception_v3.h"

#include "torch/batch_norm.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;
using Pair = torch::ExpandingArray<2>;

// torchvision's BasicConv2d: bias-free convolution, batch norm (eps 0.001), ReLU.
struct BasicConv2dImpl : nn::Module {
  BasicConv2dImpl(int64_t in, int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0)
      : conv(register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)))),
        bn(register_module("bn", BatchNorm2d(nn::BatchNormOptions(out).eps(0.001)))),
        out(out) {}
  torch::Tensor forward(torch::Tensor x) { return torch::relu(bn->forward(conv->forward(x))); }
  nn::Conv2d conv;
  BatchNorm2d bn;
  int64_t out;
};
TORCH_MODULE(BasicConv2d);

// Every Inception block: named branches whose outputs are concatenated on channels.
struct Block : nn::Module {
  BasicConv2d add(const std::string& name, int64_t in, int64_t out, Pair k, Pair s = 1, Pair p = 0) {
    return register_module(name, BasicConv2d(in, out, k, s, p));
  }
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  int64_t out = 0;
};

torch::Tensor avgPool3(const torch::Tensor& x) { return torch::avg_pool2d(x, 3, 1, 1); }
torch::Tensor maxPool3s2(const torch::Tensor& x) { return torch::max_pool2d(x, 3, 2); }

struct InceptionA : Block {
  InceptionA(int64_t in, int64_t pool, const Scale& s) {
    b1 = add("branch1x1", in, scaled(64, s), 1);
    b5_1 = add("branch5x5_1", in, scaled(48, s), 1);
    b5_2 = add("branch5x5_2", scaled(48, s), scaled(64, s), 5, 1, 2);
    d1 = add("branch3x3dbl_1", in, scaled(64, s), 1);
    d2 = add("branch3x3dbl_2", scaled(64, s), scaled(96, s), 3, 1, 1);
    d3 = add("branch3x3dbl_3", scaled(96, s), scaled(96, s), 3, 1, 1);
    bp = add("branch_pool", in, pool, 1);
    out = b1->out + b5_2->out + d3->out + bp->out;
  }
  torch::Tensor forward(torch::Tensor x) override {
    return torch::cat({b1->forward(x), b5_2->forward(b5_1->forward(x)), d3->forward(d2->forward(d1->forward(x))), bp->forward(avgPool3(x))}, 1);
  }
  BasicConv2d b1{nullptr}, b5_1{nullptr}, b5_2{nullptr}, d1{nullptr}, d2{nullptr}, d3{nullptr}, bp{nullptr};
};

struct InceptionB : Block {
  InceptionB(int64_t in, const Scale& s) {
    b3 = add("branch3x3", in, scaled(384, s), 3, 2);
    d1 = add("branch3x3dbl_1", in, scaled(64, s), 1);
    d2 = add("branch3x3dbl_2", scaled(64, s), scaled(96, s), 3, 1, 1);
    d3 = add("branch3x3dbl_3", scaled(96, s), scaled(96, s), 3, 2);
    out = b3->out + d3->out + in;
  }
  torch::Tensor forward(torch::Tensor x) override { return torch::cat({b3->forward(x), d3->forward(d2->forward(d1->forward(x))), maxPool3s2(x)}, 1); }
  BasicConv2d b3{nullptr}, d1{nullptr}, d2{nullptr}, d3{nullptr};
};

struct InceptionC : Block {
  InceptionC(int64_t in, int64_t c7, const Scale& s) {
    const int64_t c192 = scaled(192, s);
    b1 = add("branch1x1", in, c192, 1);
    s1 = add("branch7x7_1", in, c7, 1);
    s2 = add("branch7x7_2", c7, c7, {1, 7}, 1, {0, 3});
    s3 = add("branch7x7_3", c7, c192, {7, 1}, 1, {3, 0});
    d1 = add("branch7x7dbl_1", in, c7, 1);
    d2 = add("branch7x7dbl_2", c7, c7, {7, 1}, 1, {3, 0});
    d3 = add("branch7x7dbl_3", c7, c7, {1, 7}, 1, {0, 3});
    d4 = add("branch7x7dbl_4", c7, c7, {7, 1}, 1, {3, 0});
    d5 = add("branch7x7dbl_5", c7, c192, {1, 7}, 1, {0, 3});
    bp = add("branch_pool", in, c192, 1);
    out = 4 * c192;
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor d = d5->forward(d4->forward(d3->forward(d2->forward(d1->forward(x)))));
    return torch::cat({b1->forward(x), s3->forward(s2->forward(s1->forward(x))), d, bp->forward(avgPool3(x))}, 1);
  }
  BasicConv2d b1{nullptr}, s1{nullptr}, s2{nullptr}, s3{nullptr}, d1{nullptr}, d2{nullptr}, d3{nullptr}, d4{nullptr}, d5{nullptr}, bp{nullptr};
};

struct InceptionD : Block {
  InceptionD(int64_t in, const Scale& s) {
    const int64_t c192 = scaled(192, s);
    b3_1 = add("branch3x3_1", in, c192, 1);
    b3_2 = add("branch3x3_2", c192, scaled(320, s), 3, 2);
    b7_1 = add("branch7x7x3_1", in, c192, 1);
    b7_2 = add("branch7x7x3_2", c192, c192, {1, 7}, 1, {0, 3});
    b7_3 = add("branch7x7x3_3", c192, c192, {7, 1}, 1, {3, 0});
    b7_4 = add("branch7x7x3_4", c192, c192, 3, 2);
    out = b3_2->out + b7_4->out + in;
  }
  torch::Tensor forward(torch::Tensor x) override {
    return torch::cat({b3_2->forward(b3_1->forward(x)), b7_4->forward(b7_3->forward(b7_2->forward(b7_1->forward(x)))), maxPool3s2(x)}, 1);
  }
  BasicConv2d b3_1{nullptr}, b3_2{nullptr}, b7_1{nullptr}, b7_2{nullptr}, b7_3{nullptr}, b7_4{nullptr};
};

struct InceptionE : Block {
  InceptionE(int64_t in, const Scale& s) {
    const int64_t c384 = scaled(384, s);
    b1 = add("branch1x1", in, scaled(320, s), 1);
    b3_1 = add("branch3x3_1", in, c384, 1);
    b3_2a = add("branch3x3_2a", c384, c384, {1, 3}, 1, {0, 1});
    b3_2b = add("branch3x3_2b", c384, c384, {3, 1}, 1, {1, 0});
    d1 = add("branch3x3dbl_1", in, scaled(448, s), 1);
    d2 = add("branch3x3dbl_2", scaled(448, s), c384, 3, 1, 1);
    d3a = add("branch3x3dbl_3a", c384, c384, {1, 3}, 1, {0, 1});
    d3b = add("branch3x3dbl_3b", c384, c384, {3, 1}, 1, {1, 0});
    bp = add("branch_pool", in, scaled(192, s), 1);
    out = b1->out + 2 * c384 + 2 * c384 + bp->out;
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor b3 = b3_1->forward(x);
    torch::Tensor d = d2->forward(d1->forward(x));
    return torch::cat({b1->forward(x), torch::cat({b3_2a->forward(b3), b3_2b->forward(b3)}, 1), torch::cat({d3a->forward(d), d3b->forward(d)}, 1),
                       bp->forward(avgPool3(x))},
                      1);
  }
  BasicConv2d b1{nullptr}, b3_1{nullptr}, b3_2a{nullptr}, b3_2b{nullptr}, d1{nullptr}, d2{nullptr}, d3a{nullptr}, d3b{nullptr}, bp{nullptr};
};

struct InceptionV3 : VideoModel {
  InceptionV3(int64_t numClasses, const Scale& s) {
    stem = {register_module("Conv2d_1a_3x3", BasicConv2d(3, scaled(32, s), 3, 2)),
            register_module("Conv2d_2a_3x3", BasicConv2d(scaled(32, s), scaled(32, s), 3)),
            register_module("Conv2d_2b_3x3", BasicConv2d(scaled(32, s), scaled(64, s), 3, 1, 1)),
            register_module("Conv2d_3b_1x1", BasicConv2d(scaled(64, s), scaled(80, s), 1)),
            register_module("Conv2d_4a_3x3", BasicConv2d(scaled(80, s), scaled(192, s), 3))};
    int64_t in = scaled(192, s);
    auto push = [&](const std::string& name, std::shared_ptr<Block> b) {
      mixed.push_back(register_module(name, b));
      in = b->out;
    };
    push("Mixed_5b", std::make_shared<InceptionA>(in, scaled(32, s), s));
    push("Mixed_5c", std::make_shared<InceptionA>(in, scaled(64, s), s));
    push("Mixed_5d", std::make_shared<InceptionA>(in, scaled(64, s), s));
    push("Mixed_6a", std::make_shared<InceptionB>(in, s));
    for (auto [name, c7] : {std::pair{"Mixed_6b", 128}, {"Mixed_6c", 160}, {"Mixed_6d", 160}, {"Mixed_6e", 192}})
      push(name, std::make_shared<InceptionC>(in, scaled(c7, s), s));
    push("Mixed_7a", std::make_shared<InceptionD>(in, s));
    push("Mixed_7b", std::make_shared<InceptionE>(in, s));
    push("Mixed_7c", std::make_shared<InceptionE>(in, s));
    dim = in;
    dropout = register_module("dropout", nn::Dropout(0.5));
    fc = register_module("fc", nn::Linear(dim, numClasses));
    // torchvision: truncated normal (std 0.1, cut at ±2) for convolutions and the
    // head, unit batch norms.
    torch::NoGradGuard noGrad;
    for (auto& m : modules(false)) {
      if (auto* c = m->as<nn::Conv2dImpl>()) truncNormal(c->weight);
      else if (auto* l = m->as<nn::LinearImpl>()) truncNormal(l->weight), nn::init::zeros_(l->bias);
    }
    // Kernels stored channels-last too; loading weights copies into them and keeps the layout.
    for (auto& p : parameters())
      if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
  }
  static void truncNormal(torch::Tensor& w) { w.normal_(0, 0.1).clamp_(-2, 2); }

  // Pooled features of each frame: [B, C, T, H, W] -> [B, T, dim].
  torch::Tensor frameFeatures(torch::Tensor x) {
    const int64_t b = x.size(0), t = x.size(2);
    x = x.transpose(1, 2).reshape({b * t, x.size(1), x.size(3), x.size(4)});
    // transform_input, as torchvision sets it for its weights: ImageNet-normalised
    // input back to the [-1, 1] scaling the ported Google weights expect.
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    const auto perChannel = [&](auto f) { return torch::tensor({f(0), f(1), f(2)}, x.options()).view({1, 3, 1, 1}); };
    // Channels-last from here on: oneDNN's convolutions take NHWC without reordering,
    // ~1.45x faster for this network on CPU (benchmarks/extract.ts).
    x = (x * perChannel([&](int c) { return sd[c] / 0.5; }) + perChannel([&](int c) {
           return (mean[c] - 0.5) / 0.5;
         })).contiguous(torch::MemoryFormat::ChannelsLast);
    x = stem[2]->forward(stem[1]->forward(stem[0]->forward(x)));
    x = torch::max_pool2d(x, 3, 2);
    x = stem[4]->forward(stem[3]->forward(x));
    x = torch::max_pool2d(x, 3, 2);
    for (auto& m : mixed) x = m->forward(x);
    return torch::adaptive_avg_pool2d(x, {1, 1}).reshape({b, t, -1});
  }
  torch::Tensor features(torch::Tensor x) override { return frameFeatures(x).mean(1); }
  int64_t featureDim() const override { return dim; }
  // The extraction table's per-video row: mean and standard deviation over frames.
  torch::Tensor embedding(torch::Tensor x) override {
    torch::Tensor f = frameFeatures(x);
    torch::Tensor sd = f.size(1) > 1 ? f.std(1, /*unbiased=*/false) : torch::zeros_like(f.select(1, 0));
    return torch::cat({f.mean(1), sd}, 1);
  }
  int64_t embeddingDim() const override { return 2 * dim; }
  torch::Tensor forward(torch::Tensor x) override { return fc->forward(dropout->forward(features(x))); }
  std::vector<std::string> ignoredWeights() const override { return {"AuxLogits."}; }

  std::vector<BasicConv2d> stem;
  std::vector<std::shared_ptr<Block>> mixed;
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
  int64_t dim = 0;
};

}  // namespace

std::shared_ptr<VideoModel> inception_v3(int64_t numClasses, const Scale& scale) { return std::make_shared<InceptionV3>(numClasses, scale); }

}  // namespace fvc::deep
