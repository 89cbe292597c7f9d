#include "torch/i3d.h"

#include "torch/pytorchvideo_blocks.h"

namespace fvc::deep {
namespace {

using pv::Triple;

// blocks: 0 stem, 1 res2, 2 temporal max-pool, 3..5 res3..res5, 6 head.
struct I3d : VideoModel {
  I3d(int64_t numClasses, const Scale& scale) {
    const int64_t depths[4] = {3, 4, 6, 3};
    // Temporal kernels of conv_a, cycling within each stage as i3d_r50 sets them.
    const std::vector<Triple> kernelsA[4] = {
        {Triple({3, 1, 1})}, {Triple({3, 1, 1}), Triple(1)}, {Triple({3, 1, 1}), Triple(1)}, {Triple(1), Triple({3, 1, 1})}};
    blocks = register_module("blocks", torch::nn::ModuleList());
    int64_t dimIn = scaled(64, scale);
    stem = pv::Stem(3, dimIn, Triple({5, 7, 7}), Triple({1, 2, 2}), true);
    blocks->push_back(stem);
    for (int i = 0; i < 4; ++i) {
      const int64_t dimOut = scaled(256 << i, scale), dimInner = scaled(64 << i, scale);
      stages[i] =
          pv::resStage(fvc::deep::blocks(depths[i], scale), dimIn, dimInner, dimOut, kernelsA[i], 1, Triple({1, i == 0 ? 1 : 2, i == 0 ? 1 : 2}));
      blocks->push_back(stages[i]);
      if (i == 0) blocks->push_back(torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({2, 1, 1}).stride({2, 1, 1})));
      dimIn = dimOut;
    }
    head = pv::Head(dimIn, numClasses);
    blocks->push_back(head);
    initVideoWeights(*this);
  }
  torch::Tensor features(torch::Tensor x) override {
    x = stages[0]->forward(stem->forward(x));
    // The stage-1 pool halves time; a single-frame clip has nothing to halve.
    if (x.size(2) >= 2) x = torch::max_pool3d(x, {2, 1, 1}, {2, 1, 1});
    for (int i = 1; i < 4; ++i) x = stages[i]->forward(x);
    return pv::globalPool(x);
  }
  int64_t featureDim() const override { return head->proj->weight.size(1); }
  torch::Tensor forward(torch::Tensor x) override { return head->forward(features(x)); }
  std::vector<std::string> headPrefixes() const override { return {"blocks.6."}; }
  torch::nn::ModuleList blocks{nullptr};
  pv::Stem stem{nullptr};
  pv::ResStage stages[4] = {pv::ResStage{nullptr}, pv::ResStage{nullptr}, pv::ResStage{nullptr}, pv::ResStage{nullptr}};
  pv::Head head{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> i3d_r50(int64_t numClasses, const Scale& scale) { return std::make_shared<I3d>(numClasses, scale); }

}  // namespace fvc::deep
