#include "torch/slowfast.h"

#include "common/error.h"
#include "torch/batch_norm.h"
#include "torch/pytorchvideo_blocks.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;
using pv::Triple;

// FuseFastToSlow: each faster pathway's features, strided in time to the slow rate by
// a (2r-1, 1, 1) convolution, normalised and concatenated to the slow features. The
// first lateral keeps PyTorchVideo's names (conv_fast_to_slow, norm); further ones
// (multi-scale) are suffixed with their pathway index.
struct FuseImpl : nn::Module {
  FuseImpl(const std::vector<int64_t>& dims, const std::vector<Pathway>& paths, bool attention) {
    for (size_t p = 1; p < dims.size(); ++p) {
      const int64_t ratio = paths[0].frameDivisor / paths[p].frameDivisor;
      const std::string suffix = p == 1 ? "" : "_" + std::to_string(p);
      convs.push_back(
          register_module("conv_fast_to_slow" + suffix, pv::conv(dims[p], 2 * dims[p], {2 * ratio - 1, 1, 1}, {ratio, 1, 1}, {ratio - 1, 0, 0})));
      norms.push_back(register_module("norm" + suffix, BatchNorm3d(2 * dims[p])));
      lateral += 2 * dims[p];
    }
    // Channel attention over the lateral features, conditioned on both pathways' context.
    if (attention) {
      const int64_t context = dims[0] + lateral;
      gate = register_module("attention", nn::Sequential(nn::Linear(context, std::max<int64_t>(8, context / 4)), nn::ReLU(),
                                                         nn::Linear(std::max<int64_t>(8, context / 4), lateral), nn::Sigmoid()));
    }
  }
  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> x) {
    std::vector<torch::Tensor> parts{x[0]};
    for (size_t p = 1; p < x.size(); ++p) parts.push_back(torch::relu(norms[p - 1]->forward(convs[p - 1]->forward(x[p]))));
    if (gate) {
      torch::Tensor lateralFeatures = torch::cat(std::vector<torch::Tensor>(parts.begin() + 1, parts.end()), 1);
      torch::Tensor context = torch::cat({x[0].mean({2, 3, 4}), lateralFeatures.mean({2, 3, 4})}, 1);
      torch::Tensor g = gate->forward(context).unsqueeze(-1).unsqueeze(-1).unsqueeze(-1);
      parts = {x[0], lateralFeatures * g};
    }
    x[0] = torch::cat(parts, 1);
    return x;
  }
  std::vector<nn::Conv3d> convs;
  std::vector<BatchNorm3d> norms;
  nn::Sequential gate{nullptr};
  int64_t lateral = 0;
};
TORCH_MODULE(Fuse);

// MultiPathWayWithFuse: "multipathway_blocks.<p>" (a stem or a ResStage per pathway),
// then "multipathway_fusion" (absent after the last stage, as PyTorchVideo's identity).
struct MultiPathwayImpl : nn::Module {
  MultiPathwayImpl() : multipathway_blocks(register_module("multipathway_blocks", nn::ModuleList())) {}
  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> x) {
    for (size_t p = 0; p < x.size(); ++p) {
      auto m = multipathway_blocks[p];
      if (auto* stem = m->as<pv::StemImpl>()) x[p] = stem->forward(x[p]);
      else x[p] = m->as<pv::ResStageImpl>()->forward(x[p]);
    }
    return fusion ? fusion->forward(x) : x;
  }
  nn::ModuleList multipathway_blocks;
  Fuse fusion{nullptr};
};
TORCH_MODULE(MultiPathway);

// PoolConcatPathway; with attention pooling, "pool.<p>" scores every position.
struct PoolConcatImpl : nn::Module {
  PoolConcatImpl(const std::vector<int64_t>& dims, bool attention) {
    if (!attention) return;
    pool = register_module("pool", nn::ModuleList());
    for (int64_t d : dims) pool->push_back(pv::conv(d, 1, 1, 1, 0, 1, true));
  }
  torch::Tensor forward(const std::vector<torch::Tensor>& x) {
    std::vector<torch::Tensor> pooled;
    for (size_t p = 0; p < x.size(); ++p) {
      if (!pool) {
        pooled.push_back(pv::globalPool(x[p]));
        continue;
      }
      torch::Tensor w = torch::softmax(pool[p]->as<nn::Conv3dImpl>()->forward(x[p]).flatten(2), -1);  // [B, 1, THW]
      pooled.push_back((x[p].flatten(2) * w).sum(-1));
    }
    return torch::cat(pooled, 1);
  }
  nn::ModuleList pool{nullptr};
};
TORCH_MODULE(PoolConcat);

// blocks: 0 stems + fusion, 1..4 res2..res5 (+ fusion but after res5), 5 pool/concat, 6 head.
struct SlowFast : VideoModel {
  SlowFast(const SlowFastOptions& o, int64_t numClasses, const Scale& scale) : options(o) {
    const auto& paths = o.pathways;
    blocks = register_module("blocks", nn::ModuleList());
    auto width = [&](int64_t slowChannels, const Pathway& p) { return std::max<int64_t>(2, scaled(slowChannels, scale) / p.widthDivisor); };
    std::vector<int64_t> dims;
    MultiPathway stems;
    for (const auto& p : paths) {
      dims.push_back(width(64, p));
      stems->multipathway_blocks->push_back(pv::Stem(3, dims.back(), Triple({p.stemKernelT, 7, 7}), Triple({1, 2, 2}), true));
    }
    stems->fusion = stems->register_module("multipathway_fusion", Fuse(dims, paths, o.attentionFusion));
    stages.push_back(stems);
    blocks->push_back(stems);
    int64_t lateral = stems->fusion->lateral;
    const int64_t depths[4] = {3, 4, 6, 3};
    for (int i = 0; i < 4; ++i) {
      MultiPathway stage;
      std::vector<int64_t> outs;
      for (size_t k = 0; k < paths.size(); ++k) {
        const Pathway& p = paths[k];
        const int64_t dimIn = dims[k] + (k == 0 ? lateral : 0);
        const int64_t out = width(256 << i, p), inner = width(64 << i, p);
        const bool temporal = i >= 2 || p.temporalEarly;
        stage->multipathway_blocks->push_back(pv::resStage(fvc::deep::blocks(depths[i], scale), dimIn, inner, out,
                                                           {temporal ? Triple({3, 1, 1}) : Triple(1)}, 1,
                                                           Triple({1, i == 0 ? 1 : 2, i == 0 ? 1 : 2})));
        outs.push_back(out);
      }
      lateral = 0;
      if (i < 3) {
        stage->fusion = stage->register_module("multipathway_fusion", Fuse(outs, paths, o.attentionFusion));
        lateral = stage->fusion->lateral;
      }
      stages.push_back(stage);
      blocks->push_back(stage);
      dims = outs;
    }
    pool = PoolConcat(dims, o.attentionPool);
    blocks->push_back(pool);
    int64_t features = 0;
    for (int64_t d : dims) features += d;
    head = pv::Head(features, numClasses);
    blocks->push_back(head);
    initVideoWeights(*this);
  }
  torch::Tensor forward(torch::Tensor clip) override {
    const int64_t t = clip.size(2), need = options.pathways[0].frameDivisor;
    if (t % need != 0)
      throw Error(code::kInvalidArgument, "slowfast: the clip's " + std::to_string(t) + " frames are not a multiple of " + std::to_string(need) +
                                              " (the slow pathway's rate)");
    std::vector<torch::Tensor> x;
    for (const auto& p : options.pathways) x.push_back(p.frameDivisor == 1 ? clip : pv::slowFrames(clip, p.frameDivisor));
    for (auto& s : stages) x = s->forward(x);
    return head->forward(pool->forward(x));
  }
  std::vector<std::string> headPrefixes() const override { return {"blocks.6."}; }
  SlowFastOptions options;
  nn::ModuleList blocks{nullptr};
  std::vector<MultiPathway> stages;
  PoolConcat pool{nullptr};
  pv::Head head{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> slowFastNetwork(const SlowFastOptions& options, int64_t numClasses, const Scale& scale) {
  return std::make_shared<SlowFast>(options, numClasses, scale);
}

std::shared_ptr<VideoModel> slowfast_r50(int64_t numClasses, const Scale& scale) {
  return slowFastNetwork({{{4, 1, 1, false}, {1, 8, 5, true}}}, numClasses, scale);
}

}  // namespace fvc::deep
