#include "torch/x3d.h"

#include <cmath>

#include "torch/batch_norm.h"
#include "torch/pytorchvideo_blocks.h"

namespace fvc::deep {

int64_t roundWidth(double width, double multiplier, int64_t minWidth, int64_t divisor) {
  width *= multiplier;
  int64_t out = std::max<int64_t>(minWidth, static_cast<int64_t>(width + divisor / 2.0) / divisor * divisor);
  if (out < 0.9 * width) out += divisor;
  return out;
}

namespace {

namespace nn = torch::nn;

// X3D-M's factors (width 2.0, depth 2.2, bottleneck 2.25, SE 1/16 on every other block).
struct X3d : VideoModel {
  X3d(int64_t numClasses, const Scale& scale) {
    blocks = register_module("blocks", nn::ModuleList());
    const int64_t baseDepths[4] = {1, 2, 5, 3};
    int64_t dimIn = scaled(roundWidth(12, 2.0), scale);
    stem = pv::Stem(3, dimIn, 5);
    blocks->push_back(stem);
    int64_t stageDim = 12, dimInner = 0;
    for (int i = 0; i < 4; ++i) {
      const int64_t dimOut = scaled(roundWidth(stageDim, 2.0), scale);
      dimInner = static_cast<int64_t>(2.25 * dimOut);
      const int64_t depth = fvc::deep::blocks(static_cast<int64_t>(std::ceil(2.2 * baseDepths[i])), scale);
      pv::ResStage stage;
      for (int64_t b = 0; b < depth; ++b) {
        pv::BottleneckOptions o{b == 0 ? dimIn : dimOut, dimInner, dimOut};
        o.kernelB = 3;
        o.strideB = b == 0 ? pv::Triple({1, 2, 2}) : pv::Triple(1);
        o.groupsB = dimInner;
        o.x3d = true;
        o.seReduced = b % 2 == 0 ? roundWidth(static_cast<double>(dimInner), 0.0625) : 0;
        // X3D projects on any change of shape but normalises the projection only when channels change.
        stage->res_blocks->push_back(pv::ResBlock(o, o.dimIn != o.dimOut || b == 0, o.dimIn != o.dimOut));
      }
      stages[i] = stage;
      blocks->push_back(stage);
      dimIn = dimOut;
      stageDim = roundWidth(stageDim, 2.0);
    }
    // ProjectedPool: 1x1x1 conv + BN + ReLU, pool, 1x1x1 conv to 2048 + ReLU; then the head.
    const int64_t headDim = scaled(2048, scale);
    // Registered through the ModuleList so the names read "blocks.5.pool.pre_conv.weight".
    headModule = std::make_shared<HeadModule>(dimIn, dimInner, headDim, numClasses);
    blocks->push_back(headModule);
    initVideoWeights(*this);
  }

  struct HeadModule : nn::Module {
    HeadModule(int64_t in, int64_t inner, int64_t out, int64_t numClasses) {
      pool = register_module("pool", std::make_shared<nn::Module>());
      pre_conv = pool->register_module("pre_conv", pv::conv(in, inner, 1));
      pre_norm = pool->register_module("pre_norm", BatchNorm3d(inner));
      post_conv = pool->register_module("post_conv", pv::conv(inner, out, 1));
      dropout = register_module("dropout", nn::Dropout(0.5));
      proj = register_module("proj", nn::Linear(out, numClasses));
    }
    torch::Tensor forward(torch::Tensor x) {
      x = torch::relu(pre_norm->forward(pre_conv->forward(x)));
      x = x.mean({2, 3, 4}, true);
      x = torch::relu(post_conv->forward(x)).flatten(1);
      return proj->forward(dropout->forward(x));
    }
    std::shared_ptr<nn::Module> pool;
    nn::Conv3d pre_conv{nullptr}, post_conv{nullptr};
    BatchNorm3d pre_norm{nullptr};
    nn::Dropout dropout{nullptr};
    nn::Linear proj{nullptr};
  };

  torch::Tensor forward(torch::Tensor x) override {
    x = stem->forward(x);
    for (auto& s : stages) x = s->forward(x);
    return headModule->forward(x);
  }
  std::vector<std::string> headPrefixes() const override { return {"blocks.5.proj."}; }
  nn::ModuleList blocks{nullptr};
  pv::Stem stem{nullptr};
  pv::ResStage stages[4] = {pv::ResStage{nullptr}, pv::ResStage{nullptr}, pv::ResStage{nullptr}, pv::ResStage{nullptr}};
  std::shared_ptr<HeadModule> headModule;
};

}  // namespace

std::shared_ptr<VideoModel> x3d(int64_t numClasses, const Scale& scale) { return std::make_shared<X3d>(numClasses, scale); }

}  // namespace fvc::deep
