// Feature extraction for the models that train on deep features (5f-5j): one
// backbone, batched eval-mode inference over frame-cache clips on the loader's
// background threads, one embedding row per clip.
#include <cmath>

#include "common/error.h"
#include "torch/clip_loader.h"
#include "torch/deep.h"
#include "torch/run_scope.h"
#include "torch/tensor_io.h"
#include "torch/torch_guard.h"
#include "torch/video_model.h"

namespace fvc::deep {

ExtractResult extract(const ExtractRequest& r, const std::function<void(int64_t, int64_t)>& onBatch, const std::function<bool()>& cancelled) {
  return torchGuard([&] {
    CpuCacheScope cache;
    const int sources = !r.weights.empty() + !r.checkpoint.empty() + r.randomInit;
    if (sources != 1)
      throw Error(code::kInvalidArgument,
                  "weights / checkpoint / randomInit: give exactly one source of the backbone's weights (random weights only when asked for)");
    if (r.clips.empty()) throw Error(code::kInvalidArgument, "clips: nothing to extract");
    const torch::Device device(r.device);  // "cpu", "cuda" or "cuda:N"
    const ModelSpec& spec = findModel(r.model);
    torch::manual_seed(r.seed);
    auto model = spec.build(r.numClasses, r.scale);
    ExtractResult out;
    out.dim = model->embeddingDim();
    if (out.dim <= 0) throw Error(code::kInvalidArgument, "model '" + r.model + "': not a feature-extraction backbone");
    if (!r.weights.empty()) {
      const LoadReport rep = loadStateDict(*model, loadWeights(r.weights), r.weights);
      out.loaded = rep.loaded;
      // Layers the embedding passes through must come from the file, never stay random.
      std::string unset;
      for (const auto& name : rep.head) {
        bool classifier = false;
        for (const auto& p : model->classifierPrefixes()) classifier = classifier || name.rfind(p, 0) == 0;
        if (!classifier) unset += (unset.empty() ? "" : ", ") + name;
      }
      if (!unset.empty())
        throw Error(code::kInvalidData, r.weights + ": the " + r.model + " embedding needs layers this file does not have (" + unset +
                                            "): give weights of the whole model (a trained " + r.model + "), not of its backbone alone");
    }
    if (!r.checkpoint.empty()) loadCheckpoint(*model, r.checkpoint);
    model->to(device);
    model->eval();
    torch::NoGradGuard noGrad;
    ClipInput input = inputFor(spec, r.input);
    input.augment = false;
    ClipLoader loader(r.clips, input, r.batchSize, false, 0, r.loaderThreads);
    out.values.assign(r.clips.size() * out.dim, 0.f);
    loader.startEpoch(0);
    const int64_t total = loader.batchesPerEpoch();
    int64_t done = 0;
    const bool mixed = r.mixedPrecision && device.is_cuda();
    while (auto b = loader.next(nullptr)) {
      if (cancelled()) throw Error(code::kAborted, "feature extraction was cancelled");
      torch::Tensor e;
      {
        Autocast autocast(mixed);
        e = model->embedding(b->clips.to(device));
      }
      e = e.to(torch::kCPU).to(torch::kFloat32).contiguous();
      for (size_t k = 0; k < b->indices.size(); ++k) {
        const float* row = e.data_ptr<float>() + k * out.dim;
        const int64_t i = b->indices[k];
        for (int64_t j = 0; j < out.dim; ++j)
          if (!std::isfinite(row[j]))
            throw Error(code::kInvalidData, r.clips[i].npy + ": the backbone's embedding has a non-finite value (column " + std::to_string(j) + ")");
        std::copy(row, row + out.dim, out.values.begin() + i * out.dim);
      }
      onBatch(++done, total);
    }
    return out;
  });
}

}  // namespace fvc::deep
