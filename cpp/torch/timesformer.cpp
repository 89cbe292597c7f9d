// 5m TimeSformer with divided space-time attention (Bertasius et al., 2021): in every
// block each patch first attends to itself across frames (temporal_attn, then
// temporal_fc), then to the patches of its frame and the class token (attn), then the
// MLP. Names follow the authors' release (patch_embed.proj, cls_token, pos_embed,
// time_embed, blocks.N.temporal_norm1 / temporal_attn / temporal_fc / norm1 / attn /
// norm2 / mlp.fc1, norm, head; their checkpoints' "model." prefix is accepted).
//
// Initialised from a ViT as the paper does: a torchvision ViT's state dict maps onto
// these names, the temporal attention starts as a copy of the spatial one, and the
// time embedding and temporal_fc start at zero, so a one-frame clip gives the ViT's
// output exactly. (The authors' code leaves block 0's temporal_fc random; fvc zeroes
// every block's, which is what the identity needs.)
#include <regex>

#include "common/error.h"
#include "torch/vit.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

// The authors' trunc_normal_(std=.02) truncates at ±2 absolute, i.e. at 100 standard
// deviations: a plain normal.
void normal002(torch::Tensor& w) {
  torch::NoGradGuard noGrad;
  w.normal_(0, 0.02);
}

nn::LayerNorm layerNorm(int64_t d) { return nn::LayerNorm(nn::LayerNormOptions({d}).eps(1e-6)); }

// timm's Attention: a packed qkv Linear (with bias) and an output projection.
struct AttentionImpl : nn::Module {
  AttentionImpl(int64_t d, int64_t heads) : heads(heads) {
    qkv = register_module("qkv", nn::Linear(d, 3 * d));
    proj = register_module("proj", nn::Linear(d, d));
  }
  torch::Tensor forward(const torch::Tensor& x) { return selfAttention(x, qkv->weight, qkv->bias, heads, proj); }
  int64_t heads;
  nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Attention);

struct MlpImpl : nn::Module {
  MlpImpl(int64_t d, int64_t hidden) : fc1(register_module("fc1", nn::Linear(d, hidden))), fc2(register_module("fc2", nn::Linear(hidden, d))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc2->forward(torch::gelu(fc1->forward(x))); }
  nn::Linear fc1, fc2;
};
TORCH_MODULE(Mlp);

// One divided space-time block on [B, 1 + P * T, D]: the class token, then patch-major,
// frame-minor tokens (the authors' (h w t) order).
struct DividedBlockImpl : nn::Module, Checkpointable {
  DividedBlockImpl(int64_t d, int64_t heads, int64_t mlpDim) {
    norm1 = register_module("norm1", layerNorm(d));
    attn = register_module("attn", Attention(d, heads));
    temporal_norm1 = register_module("temporal_norm1", layerNorm(d));
    temporal_attn = register_module("temporal_attn", Attention(d, heads));
    temporal_fc = register_module("temporal_fc", nn::Linear(d, d));
    norm2 = register_module("norm2", layerNorm(d));
    mlp = register_module("mlp", Mlp(d, mlpDim));
  }
  torch::Tensor run(const torch::Tensor& x) override {
    const int64_t b = x.size(0), d = x.size(2), t = frames, p = (x.size(1) - 1) / t;
    torch::Tensor cls = x.slice(1, 0, 1), patches = x.slice(1, 1);  // [B, 1, D], [B, P*T, D]
    // Temporal: each patch position's T tokens attend to one another.
    torch::Tensor xt = patches.reshape({b * p, t, d});
    torch::Tensor resT = temporal_fc->forward(temporal_attn->forward(temporal_norm1->forward(xt)).reshape({b, p * t, d}));
    torch::Tensor xs = patches + resT;
    // Spatial: each frame's P patches and a copy of the class token attend to one another.
    torch::Tensor perFrame = xs.reshape({b, p, t, d}).transpose(1, 2).reshape({b * t, p, d});
    perFrame = torch::cat({cls.repeat({1, t, 1}).reshape({b * t, 1, d}), perFrame}, 1);
    torch::Tensor resS = attn->forward(norm1->forward(perFrame));
    torch::Tensor resCls = resS.select(1, 0).reshape({b, t, d}).mean(1, true);
    torch::Tensor resPatches = resS.slice(1, 1).reshape({b, t, p, d}).transpose(1, 2).reshape({b, p * t, d});
    torch::Tensor y = torch::cat({cls + resCls, xs + resPatches}, 1);
    return y + mlp->forward(norm2->forward(y));
  }
  nn::LayerNorm norm1{nullptr}, temporal_norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr}, temporal_attn{nullptr};
  nn::Linear temporal_fc{nullptr};
  Mlp mlp{nullptr};
  int64_t frames = 1;  // set per forward pass
};
TORCH_MODULE(DividedBlock);

struct TimeSformer : VideoModel {
  TimeSformer(const VitConfig& c, int64_t numClasses, int64_t numFrames) : cfg(c), grid(c.imageSize / c.patch), numFrames(numFrames) {
    auto patchEmbed = register_module("patch_embed", std::make_shared<nn::Module>());
    proj = patchEmbed->register_module("proj", nn::Conv2d(nn::Conv2dOptions(3, c.hidden, c.patch).stride(c.patch)));
    cls_token = register_parameter("cls_token", torch::empty({1, 1, c.hidden}));
    pos_embed = register_parameter("pos_embed", torch::empty({1, 1 + grid * grid, c.hidden}));
    time_embed = register_parameter("time_embed", torch::zeros({1, numFrames, c.hidden}));
    auto holder = register_module("blocks", std::make_shared<nn::Module>());
    for (int64_t i = 0; i < c.layers; ++i) blocks.push_back(holder->register_module(std::to_string(i), DividedBlock(c.hidden, c.heads, c.mlp)));
    norm = register_module("norm", layerNorm(c.hidden));
    head = register_module("head", nn::Linear(c.hidden, numClasses));
    // The authors' initialisation: N(0, 0.02) for Linear weights, zero biases, unit
    // norms, then temporal_fc zeroed.
    torch::NoGradGuard noGrad;
    for (auto& m : modules(false))
      if (auto* l = m->as<nn::LinearImpl>()) normal002(l->weight), nn::init::zeros_(l->bias);
    normal002(cls_token);
    normal002(pos_embed);
    for (auto& b : blocks) nn::init::zeros_(b->temporal_fc->weight), nn::init::zeros_(b->temporal_fc->bias);
  }

  torch::Tensor features(torch::Tensor x) override {
    const int64_t b = x.size(0), t = x.size(2), d = cfg.hidden;
    if (x.size(3) < cfg.patch || x.size(4) < cfg.patch)
      throw Error(code::kInvalidArgument, "input: frames of " + std::to_string(x.size(3)) + "x" + std::to_string(x.size(4)) +
                                              " px are smaller than one " + std::to_string(cfg.patch) + " px patch");
    torch::Tensor p = proj->forward(x.transpose(1, 2).reshape({b * t, x.size(1), x.size(3), x.size(4)}));  // [B*T, D, h, w]
    const int64_t h = p.size(2), w = p.size(3), n = h * w;
    torch::Tensor pos = resamplePositions(pos_embed, grid, grid, h, w).to(p.dtype());
    torch::Tensor tokens = p.flatten(2).transpose(1, 2) + pos.slice(1, 1);  // [B*T, P, D]
    torch::Tensor cls = cls_token.to(p.dtype()) + pos.slice(1, 0, 1);       // [1, 1, D]
    // Time embedding: resampled (nearest, as the authors do) when the clip's length differs.
    torch::Tensor te = time_embed;
    if (t != numFrames)
      te = nn::functional::interpolate(te.transpose(1, 2),
                                       nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{t}).mode(torch::kNearest))
               .transpose(1, 2);
    tokens = tokens.reshape({b, t, n, d}).transpose(1, 2) + te.to(p.dtype()).unsqueeze(1);  // [B, P, T, D]
    torch::Tensor seq = torch::cat({cls.expand({b, 1, d}), tokens.reshape({b, n * t, d})}, 1);
    for (auto& blk : blocks) {
      blk->frames = t;
      seq = checkpoint ? checkpointed(*blk, seq) : blk->run(seq);
    }
    return norm->forward(seq).select(1, 0);
  }
  int64_t featureDim() const override { return cfg.hidden; }
  torch::Tensor forward(torch::Tensor x) override { return head->forward(features(x)); }
  std::vector<std::string> headPrefixes() const override { return {"head."}; }

  // torchvision ViT names -> the authors' (timm's); the temporal parts as the paper initialises them.
  void adaptState(std::map<std::string, torch::Tensor>& state) const override {
    std::map<std::string, torch::Tensor> out;
    for (auto& [name, t] : state) out[name.rfind("model.", 0) == 0 ? name.substr(6) : name] = t;
    renameVitState(out, /*toTimm=*/true);
    resampleStatePositions(out, "pos_embed", grid);
    if (!out.count("time_embed")) out["time_embed"] = torch::zeros({1, numFrames, cfg.hidden});
    for (size_t i = 0; i < blocks.size(); ++i) {
      const std::string b = "blocks." + std::to_string(i) + ".";
      if (out.count(b + "temporal_attn.qkv.weight")) continue;
      if (!out.count(b + "attn.qkv.weight")) continue;  // not a ViT's block: loading names what is missing
      for (const char* part : {"qkv.weight", "qkv.bias", "proj.weight", "proj.bias"})
        out[b + "temporal_attn." + part] = out[b + "attn." + part].clone();
      for (const char* part : {"weight", "bias"}) out[b + "temporal_norm1." + part] = out[b + "norm1." + part].clone();
      out[b + "temporal_fc.weight"] = torch::zeros({cfg.hidden, cfg.hidden});
      out[b + "temporal_fc.bias"] = torch::zeros({cfg.hidden});
    }
    state = std::move(out);
  }

  bool decays(const std::string& name, const torch::Tensor& p) const override {
    return p.dim() > 1 && name != "cls_token" && name != "pos_embed" && name != "time_embed";
  }
  int64_t layerDepth(const std::string& name) const override {
    if (name.rfind("patch_embed.", 0) == 0 || name == "cls_token" || name == "pos_embed" || name == "time_embed") return 0;
    static const std::regex block(R"(^blocks\.(\d+)\.)");
    std::smatch m;
    if (std::regex_search(name, m, block)) return std::stoll(m[1]) + 1;
    return numLayers();
  }
  int64_t numLayers() const override { return cfg.layers + 1; }
  bool setGradientCheckpointing(bool on) override { return checkpoint = on, true; }

  VitConfig cfg;
  int64_t grid, numFrames;
  nn::Conv2d proj{nullptr};
  torch::Tensor cls_token, pos_embed, time_embed;
  std::vector<DividedBlock> blocks;
  nn::LayerNorm norm{nullptr};
  nn::Linear head{nullptr};
  bool checkpoint = false;
};

}  // namespace

std::shared_ptr<VideoModel> timesformer(const VitConfig& vit, int64_t numClasses, const Scale& scale) {
  return std::make_shared<TimeSformer>(scaledVit(vit, scale), numClasses, 8);
}

}  // namespace fvc::deep
