#pragma once
// What every fvc video model is: a torch::nn::Module mapping a clip batch
// [B, C, T, H, W] to class logits [B, K], plus the registry of named builders.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "torch/deep.h"

namespace fvc::deep {

struct VideoModel : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor clips) = 0;
  // Parameter-name prefixes of the classification head: the differential learning
  // rate treats them as new, and weights for another class count leave them as built.
  virtual std::vector<std::string> headPrefixes() const { return {"fc."}; }
  // The part of the head that only forward() uses, not embedding(): weights lacking any
  // other head tensor (a ViT's file for vit_gru's GRU) cannot serve for extraction.
  virtual std::vector<std::string> classifierPrefixes() const { return headPrefixes(); }
  // The pooled features before the head, [B, featureDim()], for models that are
  // building blocks of others (two_stream's streams).
  virtual torch::Tensor features(torch::Tensor clips) { throw std::logic_error("this model exposes no features"); }
  virtual int64_t featureDim() const { return 0; }
  // One video's row of a feature-extraction table, [B, embeddingDim()]: the pooled
  // features by default; per-frame models add statistics over time.
  virtual torch::Tensor embedding(torch::Tensor clips) { return features(clips); }
  virtual int64_t embeddingDim() const { return featureDim(); }
  // Parameter-name prefixes a published state dict may carry that this model does not
  // use (Inception v3's auxiliary head); loading accepts and skips them.
  virtual std::vector<std::string> ignoredWeights() const { return {}; }
  // Converts a published state dict of a related layout before loading: a ViT's
  // positional embeddings resampled to this model's grid, its 2D patch kernel inflated
  // to a tubelet, torchvision's names mapped to TimeSformer's.
  virtual void adaptState(std::map<std::string, torch::Tensor>& state) const {}

  // How transformers are trained (timm, DeiT, BEiT): which parameters take weight
  // decay (not norms, biases, position embeddings or class tokens), and each
  // parameter's depth for layer-wise learning-rate decay: 0 for the embeddings,
  // i + 1 for block i, numLayers() for what follows the last block; -1 opts out.
  virtual bool decays(const std::string& name, const torch::Tensor& p) const { return true; }
  virtual int64_t layerDepth(const std::string& name) const { return -1; }
  virtual int64_t numLayers() const { return 0; }
  // Called after every optimiser step: a constrained layer (Bayar & Stamm's prediction-
  // error filters) projects its weights back onto its constraint here.
  virtual void afterOptimizerStep() {}
  // Recompute each block's activations in the backward pass instead of keeping them;
  // false when the model has no checkpointed blocks.
  virtual bool setGradientCheckpointing(bool on) { return false; }
};

using Builder = std::function<std::shared_ptr<VideoModel>(int64_t numClasses, const Scale& scale)>;

struct ModelSpec {
  std::string name;
  std::string family;
  std::string description;
  std::vector<int64_t> inputShape;  // [C, T, H, W] at the published size: T and H are the default frames and crop
  Builder build;
  ClipLayout layout = ClipLayout::Rgb;
  Preset preset;  // the rest of the input the model expects (frame size, normalisation)
};

const char* layoutName(ClipLayout layout);

// A caller's frames / crop / augmentation with the model's layout and normalisation.
ClipInput inputFor(const ModelSpec& spec, ClipInput input);

const std::vector<ModelSpec>& modelRegistry();
const ModelSpec& findModel(const std::string& name);

// torchvision's and PyTorchVideo's initialisation (the two agree): fan-out Kaiming
// 3D convolutions, unit batch norms, N(0, 0.01) linear layers, zero biases.
void initVideoWeights(torch::nn::Module& model);

// Channel count after scaling, never below 4 and a multiple of the original's parity.
int64_t scaled(int64_t channels, const Scale& scale);
// Blocks per stage after the depth cap.
int64_t blocks(int64_t published, const Scale& scale);

// Copies a state dict (names as torchvision / PyTorchVideo write them) into the model,
// after the model's adaptState; head tensors (headPrefixes) of another shape or absent
// from the file are left as built and listed. Any other missing,
// unexpected or misshapen tensor is an error naming it.
struct LoadReport {
  int64_t loaded = 0;
  std::vector<std::string> head;
};
LoadReport loadStateDict(VideoModel& model, std::map<std::string, torch::Tensor> state, const std::string& source);

// Restores a model saved by fvc's trainer (model.pt); errors name the file.
void loadCheckpoint(VideoModel& model, const std::string& path);

}  // namespace fvc::deep
