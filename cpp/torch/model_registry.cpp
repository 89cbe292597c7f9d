// The registry of deep video models and what every model shares: scaling and
// loading state dicts by name.
#include <cmath>

#include "common/error.h"
#include "torch/batch_norm.h"
#include "torch/i3d.h"
#include "torch/inception_v3.h"
#include "torch/mesonet.h"
#include "torch/naive_cnn.h"
#include "torch/residual_cnn.h"
#include "torch/slowfast.h"
#include "torch/trace_cnn.h"
#include "torch/two_stream.h"
#include "torch/variable_ar_cnn.h"
#include "torch/video_model.h"
#include "torch/video_resnet.h"
#include "torch/vit.h"
#include "torch/x3d.h"

namespace fvc::deep {

namespace {

// Input presets. torchvision's video models: Kinetics statistics, frames resized to
// 128 px and cropped to 112. PyTorchVideo's: mean 0.45 / std 0.225, short side 256
// cropped to 224 (X3D-XS/S: 182 -> 160). torchvision's Inception v3 weights: ImageNet
// statistics, 342 -> 299, and no crop under 75 px (its stem and reductions leave nothing).
const Preset kTorchvisionVideo{};
Preset pytorchVideo(int64_t frameSize) { return {frameSize, {0.45f, 0.45f, 0.45f}, {0.225f, 0.225f, 0.225f}}; }
const Preset kImageNet{342, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, 75};
// MesoNet as its authors trained it: 256 px faces scaled to [0, 1] (Keras' rescale=1/255), no crop.
const Preset kMeso{256, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};
// The residual detectors as DeepfakeBench feeds its SRM model: mean and std 0.5, 256 -> 224.
const Preset kResidual{256, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
// trace_cnn: the same statistics; frames at their own size (frameSize unused), crops of 64 px at least.
const Preset kTrace{256, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, 64};
// torchvision's ViT weights: ImageNet statistics, 256 -> 224; a crop needs one 16 px patch.
const Preset kVit{256, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, 16};

// The video transformers at ViT-B/16 (the published size) and, for CPU work, on
// ViT-S/16 and ViT-Ti/16 backbones (suffixes _s16, _ti16).
using VitBuilder = std::shared_ptr<VideoModel> (*)(const VitConfig&, int64_t, const Scale&);
void addTransformer(std::vector<ModelSpec>& models, const std::string& name, const std::string& description, int64_t frames, VitBuilder build) {
  const std::pair<const char*, VitConfig (*)()> sizes[] = {{"", vitB16}, {"_s16", vitS16}, {"_ti16", vitTi16}};
  for (const auto& [suffix, config] : sizes) {
    const std::string backbone = *suffix ? std::string(suffix + 1) : "b16";
    models.push_back({name + suffix,
                      "transformer",
                      description + " (ViT-" +
                          (backbone == "b16"   ? "B"
                           : backbone == "s16" ? "S"
                                               : "Ti") +
                          "/16)",
                      {3, frames, 224, 224},
                      [config, build](int64_t k, const Scale& s) { return build(config(), k, s); },
                      ClipLayout::Rgb,
                      kVit});
  }
}

std::vector<ModelSpec> withTransformers(std::vector<ModelSpec> models) {
  models.push_back({"vit_b_16",
                    "transformer",
                    "torchvision's ViT-B/16 per frame, class tokens averaged over time, heads.head",
                    {3, 8, 224, 224},
                    vit_b_16,
                    ClipLayout::Rgb,
                    kVit});
  models.push_back(
      {"vit_s_16", "transformer", "ViT-S/16 (DeiT-S dimensions) per frame, torchvision's layout", {3, 8, 224, 224}, vit_s_16, ClipLayout::Rgb, kVit});
  models.push_back({"vit_ti_16",
                    "transformer",
                    "ViT-Ti/16 (DeiT-Ti dimensions) per frame, torchvision's layout",
                    {3, 8, 224, 224},
                    vit_ti_16,
                    ClipLayout::Rgb,
                    kVit});
  addTransformer(models, "vit_gru", "5k: ViT per frame, class tokens through a GRU, dropout 0.5, linear head", 8, vit_gru);
  addTransformer(models, "vit_transformer", "5l: ViT per frame, a temporal transformer over the class tokens, dropout 0.5, linear head", 8,
                 vit_transformer);
  addTransformer(models, "timesformer", "5m: TimeSformer, divided space-time attention, 8 frames", 8, timesformer);
  addTransformer(models, "vivit", "5n: ViViT factorised encoder, tubelets of 2 frames, 16 frames", 16, vivit);
  return models;
}

}  // namespace

const std::vector<ModelSpec>& modelRegistry() {
  static const std::vector<ModelSpec> models = withTransformers({
      {"naive_cnn",
       "cnn",
       "5c: per-frame 2D CNN, temporal average, dropout 0.5, linear head",
       {3, 8, 112, 112},
       naive_cnn,
       ClipLayout::Rgb,
       kTorchvisionVideo},
      {"inception_v3",
       "cnn",
       "5d: torchvision's Inception v3 per frame, pooled features averaged over time, dropout 0.5, linear head",
       {3, 8, 299, 299},
       inception_v3,
       ClipLayout::Rgb,
       kImageNet},
      {"variable_ar_cnn",
       "cnn",
       "5e: naive_cnn's CNN on frames at their own aspect ratio, padded per batch, mask-weighted pooling; input RGB + mask",
       {4, 8, 112, 112},
       variable_ar_cnn,
       ClipLayout::RgbMask,
       kTorchvisionVideo},
      {"meso4",
       "cnn",
       "Meso-4 (Afchar et al. 2018) per frame, features averaged over time, the authors' Keras layout; trained from scratch",
       {3, 8, 256, 256},
       meso4,
       ClipLayout::Rgb,
       kMeso},
      {"meso_inception4",
       "cnn",
       "MesoInception-4 (Afchar et al. 2018) per frame, features averaged over time, the authors' Keras layout; trained from scratch",
       {3, 8, 256, 256},
       meso_inception4,
       ClipLayout::Rgb,
       kMeso},
      {"srm_cnn",
       "cnn",
       "fixed SRM high-pass filters (Zhou et al. 2018: KV/12, KB/4, [1,-2,1]/2; summed over RGB, clipped to +-3), then naive_cnn's CNN per "
       "frame, features averaged over time, dropout 0.5, linear head; trained from scratch",
       {3, 8, 224, 224},
       srm_cnn,
       ClipLayout::Rgb,
       kResidual},
      {"constrained_cnn",
       "cnn",
       "Bayar & Stamm's constrained 5x5 convolution (centre -1, the rest summing to +1 after every optimiser step), then naive_cnn's CNN "
       "per frame, features averaged over time, dropout 0.5, linear head; trained from scratch",
       {3, 8, 224, 224},
       constrained_cnn,
       ClipLayout::Rgb,
       kResidual},
      {"trace_cnn",
       "cnn",
       "local traces against their surroundings: SRM residual energy per 16 px cell relative to the frame and to the clip, each cell's colour "
       "against the clip, and adjacent frames' differences per 8 px cell; frames at their own size in adjacent pairs; 10,880 parameters, "
       "trained from scratch",
       {3, 8, 160, 160},
       trace_cnn,
       ClipLayout::RgbPairs,
       kTrace},
      {"r3d_18", "video_3d", "ResNet-18 with 3D convolutions (torchvision r3d_18)", {3, 16, 112, 112}, r3d_18, ClipLayout::Rgb, kTorchvisionVideo},
      {"mc3_18", "video_3d", "mixed convolutions: 3D then 2D (torchvision mc3_18)", {3, 16, 112, 112}, mc3_18, ClipLayout::Rgb, kTorchvisionVideo},
      {"r2plus1d_18",
       "video_3d",
       "5p: R(2+1)D-18, factorised spatial + temporal convolutions (torchvision r2plus1d_18)",
       {3, 16, 112, 112},
       r2plus1d_18,
       ClipLayout::Rgb,
       kTorchvisionVideo},
      {"i3d_r50", "video_3d", "5o: inflated 3D ResNet-50 (PyTorchVideo i3d_r50)", {3, 8, 224, 224}, i3d_r50, ClipLayout::Rgb, pytorchVideo(256)},
      {"x3d_xs", "video_3d", "5q: X3D-XS, 4 frames at 160 px (PyTorchVideo x3d_xs)", {3, 4, 160, 160}, x3d, ClipLayout::Rgb, pytorchVideo(182)},
      {"x3d_s", "video_3d", "5q: X3D-S, 13 frames at 160 px (PyTorchVideo x3d_s)", {3, 13, 160, 160}, x3d, ClipLayout::Rgb, pytorchVideo(182)},
      {"x3d_m", "video_3d", "5q: X3D-M, 16 frames at 224 px (PyTorchVideo x3d_m)", {3, 16, 224, 224}, x3d, ClipLayout::Rgb, pytorchVideo(256)},
      {"slowfast_r50",
       "slowfast",
       "5r: SlowFast R50 8x8, alpha 4, beta 1/8; input is the fast clip, the slow pathway takes every 4th frame (PyTorchVideo slowfast_r50)",
       {3, 32, 224, 224},
       slowfast_r50,
       ClipLayout::Rgb,
       pytorchVideo(256)},
      {"slowfast_attention",
       "slowfast",
       "5s: SlowFast R50 with attention-gated lateral fusion and attention pooling",
       {3, 32, 224, 224},
       slowfast_attention,
       ClipLayout::Rgb,
       pytorchVideo(256)},
      {"slowfast_multiscale",
       "slowfast",
       "5t: SlowFast R50 with three pathways at T/4, T/2 and T, fused into the slow one",
       {3, 32, 224, 224},
       slowfast_multiscale,
       ClipLayout::Rgb,
       pytorchVideo(256)},
      {"two_stream",
       "two_stream",
       "5u: RGB and optical-flow mc3_18 streams, late fusion; input RGB + flow (dx, dy)",
       {5, 16, 112, 112},
       two_stream,
       ClipLayout::RgbFlow,
       kTorchvisionVideo},
  });
  return models;
}

const ModelSpec& findModel(const std::string& name) {
  for (const auto& m : modelRegistry())
    if (m.name == name) return m;
  std::string known;
  for (const auto& m : modelRegistry()) known += (known.empty() ? "" : ", ") + m.name;
  throw Error(code::kInvalidArgument, "model '" + name + "': unknown deep model (known: " + known + ")");
}

ClipInput inputFor(const ModelSpec& spec, ClipInput input) {
  if (input.cropSize < spec.preset.minSide)
    throw Error(code::kInvalidArgument, "cropSize: " + spec.name + " needs a crop of at least " + std::to_string(spec.preset.minSide) + " px (got " +
                                            std::to_string(input.cropSize) + ")");
  input.layout = spec.layout;
  // A caller's normalisation (weights trained with another) replaces the preset's.
  if (input.mean.empty() || input.std.empty()) {
    input.mean = spec.preset.mean;
    input.std = spec.preset.std;
  }
  return input;
}

const char* layoutName(ClipLayout layout) {
  switch (layout) {
    case ClipLayout::Rgb:
      return "rgb";
    case ClipLayout::RgbFlow:
      return "rgb+flow";
    case ClipLayout::RgbMask:
      return "rgb+mask";
    case ClipLayout::RgbPairs:
      return "rgb+pairs";
  }
  return "rgb";
}

void initVideoWeights(torch::nn::Module& model) {
  namespace nn = torch::nn;
  for (auto& m : model.modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv3dImpl>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    } else if (auto* bn = m->as<BatchNorm3dImpl>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    } else if (auto* l = m->as<nn::LinearImpl>()) {
      nn::init::normal_(l->weight, 0, 0.01);
      nn::init::zeros_(l->bias);
    }
  }
}

int64_t scaled(int64_t channels, const Scale& scale) {
  if (!(scale.width > 0)) throw Error(code::kInvalidArgument, "scale.width: must be > 0");
  if (scale.width == 1.0) return channels;
  return std::max<int64_t>(4, static_cast<int64_t>(std::llround(channels * scale.width)));
}

int64_t blocks(int64_t published, const Scale& scale) {
  if (scale.depth < 0) throw Error(code::kInvalidArgument, "scale.depth: must be >= 0");
  return scale.depth > 0 ? std::min<int64_t>(published, scale.depth) : published;
}

LoadReport loadStateDict(VideoModel& model, std::map<std::string, torch::Tensor> state, const std::string& source) {
  LoadReport report;
  try {
    model.adaptState(state);
  } catch (const Error& e) {
    throw Error(e.code(), source + ": " + e.what());
  }
  auto isHead = [&](const std::string& name) {
    for (const auto& p : model.headPrefixes())
      if (name.rfind(p, 0) == 0) return true;
    return false;
  };
  torch::NoGradGuard noGrad;
  std::vector<std::string> missing, misshapen, nonFinite;
  size_t matched = 0;
  auto take = [&](const std::string& name, torch::Tensor& target) {
    auto it = state.find(name);
    // Layers a published file cannot have (a GRU or temporal encoder on a ViT) stay as built, listed.
    if (it == state.end() && isHead(name)) {
      report.head.push_back(name);
      return;
    }
    if (it == state.end()) {
      // Files from before PyTorch 0.4.1 have no batch-norm step counters; PyTorch loads
      // them all the same, and the counter only matters for momentum-free batch norm.
      const std::string counter = "num_batches_tracked";
      if (name.size() < counter.size() || name.compare(name.size() - counter.size(), counter.size(), counter) != 0) missing.push_back(name);
      return;
    }
    ++matched;
    if (it->second.is_floating_point() && !torch::isfinite(it->second).all().item<bool>()) nonFinite.push_back(name);
    // LibTorch keeps batch norm's num_batches_tracked as [1] where PyTorch writes a scalar.
    const bool scalarLike = it->second.numel() == 1 && target.numel() == 1;
    if (it->second.sizes() != target.sizes() && !scalarLike) {
      if (isHead(name)) report.head.push_back(name);
      else misshapen.push_back(name + " (file " + c10::str(it->second.sizes()) + ", model " + c10::str(target.sizes()) + ")");
      return;
    }
    target.copy_(it->second.to(target.dtype()).reshape(target.sizes()));
    ++report.loaded;
  };
  try {
    for (auto& p : model.named_parameters()) take(p.key(), p.value());
    for (auto& b : model.named_buffers()) take(b.key(), b.value());
  } catch (const c10::Error& e) {
    throw Error(code::kTorch, source + ": " + e.what_without_backtrace());
  }
  std::vector<std::string> unexpected;
  if (matched < state.size()) {
    auto params = model.named_parameters();
    auto buffers = model.named_buffers();
    const auto ignored = model.ignoredWeights();
    auto isIgnored = [&](const std::string& name) {
      for (const auto& p : ignored)
        if (name.rfind(p, 0) == 0) return true;
      return false;
    };
    for (const auto& [name, _] : state)
      if (!params.contains(name) && !buffers.contains(name) && !isIgnored(name)) unexpected.push_back(name);
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 8) s += ", ... (" + std::to_string(v.size()) + " in all)";
    return s;
  };
  // A NaN or infinite weight would give NaN logits that look like a result.
  if (!nonFinite.empty())
    throw Error(code::kInvalidData, source + ": non-finite (NaN or infinite) values in tensor(s) " + list(nonFinite) +
                                        "; the file is damaged or came from a diverged run");
  if (!missing.empty() || !misshapen.empty() || !unexpected.empty()) {
    std::string why;
    if (!missing.empty()) why += "\n  missing: " + list(missing);
    if (!misshapen.empty()) why += "\n  wrong shape: " + list(misshapen);
    if (!unexpected.empty()) why += "\n  not in the model: " + list(unexpected);
    throw Error(code::kInvalidData, source + ": these weights do not fit the model (is it the same architecture and scale?)" + why);
  }
  return report;
}

}  // namespace fvc::deep
