#include "torch/deep.h"

#include "common/error.h"
#include "torch/tensor_io.h"
#include "torch/torch_guard.h"
#include "torch/video_model.h"

namespace fvc::deep {

std::vector<std::string> modelNames() {
  std::vector<std::string> names;
  for (const auto& m : modelRegistry()) names.push_back(m.name);
  return names;
}

ModelDescription describeModel(const std::string& name, int64_t numClasses, const Scale& scale) {
  return torchGuard([&] {
    if (numClasses < 1) throw Error(code::kInvalidArgument, "numClasses: must be >= 1");
    const ModelSpec& spec = findModel(name);
    auto model = spec.build(numClasses, scale);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    return ModelDescription{spec.name,       spec.family, spec.description, layoutName(spec.layout),
                            spec.inputShape, params,      spec.preset,      model->embeddingDim()};
  });
}

LogitsResult logits(const LogitsRequest& r) {
  return torchGuard([&] {
    const ModelSpec& spec = findModel(r.model);
    torch::Tensor input = loadNpyFloat32(r.input);
    if (input.dim() == 4) input = input.unsqueeze(0);
    if (input.dim() != 5 || input.size(1) != spec.inputShape[0])
      throw Error(code::kInvalidData, r.input + ": expected a float32 clip [C, T, H, W] (or a batch [B, C, T, H, W]) with C = " +
                                          std::to_string(spec.inputShape[0]) + ", got " + c10::str(input.sizes()));
    torch::manual_seed(r.seed);
    auto model = spec.build(r.numClasses, r.scale);
    LogitsResult out;
    if (!r.weights.empty()) {
      LoadReport rep = loadStateDict(*model, loadWeights(r.weights), r.weights);
      out.loaded = rep.loaded;
      out.head = rep.head;
    }
    model->eval();
    const bool grads = !r.gradients.empty();
    if (grads != !r.labels.empty())
      throw Error(code::kInvalidArgument, "labels / gradients: give both (labels for the loss, a .safetensors path for the gradients) or neither");
    if (grads && static_cast<int64_t>(r.labels.size()) != input.size(0))
      throw Error(code::kInvalidArgument,
                  "labels: " + std::to_string(r.labels.size()) + " label(s) for " + std::to_string(input.size(0)) + " clip(s)");
    for (int64_t label : r.labels)
      if (label >= r.numClasses)
        throw Error(code::kInvalidArgument, "labels: class " + std::to_string(label) + " outside 0.." + std::to_string(r.numClasses - 1));
    torch::AutoGradMode gradMode(grads);
    torch::Tensor y;
    try {
      y = r.embedding ? model->embedding(input) : model->forward(input);
    } catch (const c10::Error& e) {
      throw Error(code::kInvalidData, r.input + ": the model cannot take this input " + c10::str(input.sizes()) + ": " + e.what_without_backtrace());
    }
    if (grads) {
      if (r.embedding) throw Error(code::kInvalidArgument, "gradients: of the logits' loss, not of an embedding");
      torch::nn::functional::cross_entropy(y, torch::tensor(r.labels)).backward();
      std::map<std::string, torch::Tensor> g;
      for (auto& p : model->named_parameters()) g[p.key()] = p.value().grad().defined() ? p.value().grad() : torch::zeros_like(p.value());
      saveSafetensors(r.gradients, g);
    }
    y = y.detach().contiguous();
    out.shape = y.sizes().vec();
    out.logits.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
    return out;
  });
}

}  // namespace fvc::deep
