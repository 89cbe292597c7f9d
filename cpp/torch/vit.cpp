#include "torch/vit.h"

#include <cmath>
#include <regex>

#include "common/error.h"

namespace fvc::deep {

namespace nn = torch::nn;

VitConfig vitB16() { return {16, 768, 12, 12, 3072, 224}; }
VitConfig vitS16() { return {16, 384, 12, 6, 1536, 224}; }
VitConfig vitTi16() { return {16, 192, 12, 3, 768, 224}; }

VitConfig scaledVit(VitConfig c, const Scale& scale) {
  if (!(scale.width > 0)) throw Error(code::kInvalidArgument, "scale.width: must be > 0");
  if (scale.width != 1.0) {
    const int64_t headDim = std::max<int64_t>(2, std::llround(static_cast<double>(c.hidden / c.heads) * scale.width));
    const int64_t ratio = c.mlp / c.hidden;
    c.hidden = headDim * c.heads;
    c.mlp = ratio * c.hidden;
  }
  c.layers = blocks(c.layers, scale);
  return c;
}

torch::Tensor resamplePositions(const torch::Tensor& pos, int64_t gh, int64_t gw, int64_t h, int64_t w) {
  if (gh == h && gw == w) return pos;
  const int64_t d = pos.size(2);
  torch::Tensor grid = pos.slice(1, 1).transpose(1, 2).reshape({1, d, gh, gw});
  grid = nn::functional::interpolate(
      grid, nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBicubic).align_corners(true));
  return torch::cat({pos.slice(1, 0, 1), grid.reshape({1, d, h * w}).transpose(1, 2)}, 1);
}

void resampleStatePositions(std::map<std::string, torch::Tensor>& state, const std::string& name, int64_t grid) {
  auto pos = state.find(name);
  if (pos == state.end() || pos->second.dim() != 3 || pos->second.size(1) == 1 + grid * grid) return;
  const int64_t cells = pos->second.size(1) - 1, side = std::llround(std::sqrt(static_cast<double>(cells)));
  if (side * side != cells) throw Error(code::kInvalidData, name + ": " + std::to_string(cells) + " positions are not a square grid");
  pos->second = resamplePositions(pos->second.to(torch::kFloat32), side, side, grid, grid);
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t hidden, int64_t heads) : heads(heads) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * hidden, hidden}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * hidden}));
  out_proj = register_module("out_proj", nn::Linear(hidden, hidden));
  nn::init::xavier_uniform_(in_proj_weight);
  nn::init::zeros_(out_proj->bias);
}

EncoderBlockImpl::EncoderBlockImpl(int64_t hidden, int64_t heads, int64_t mlpDim) {
  ln_1 = register_module("ln_1", nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(1e-6)));
  self_attention = register_module("self_attention", MultiheadAttention(hidden, heads));
  ln_2 = register_module("ln_2", nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(1e-6)));
  // torchvision's MLPBlock: Linear, GELU, Dropout, Linear, Dropout (hence mlp.0, mlp.3).
  mlp =
      register_module("mlp", nn::Sequential(nn::Linear(hidden, mlpDim), nn::GELU(), nn::Dropout(0.0), nn::Linear(mlpDim, hidden), nn::Dropout(0.0)));
  for (auto& m : mlp->modules(false))
    if (auto* l = m->as<nn::LinearImpl>()) nn::init::xavier_uniform_(l->weight), nn::init::normal_(l->bias, 0, 1e-6);
}

torch::Tensor EncoderBlockImpl::run(const torch::Tensor& input) {
  torch::Tensor x = input + self_attention->forward(ln_1->forward(input));
  return x + mlp->forward(ln_2->forward(x));
}

EncoderImpl::EncoderImpl(int64_t gh, int64_t gw, int64_t hidden, int64_t layers, int64_t heads, int64_t mlp) : gh(gh), gw(gw) {
  pos_embedding = register_parameter("pos_embedding", torch::empty({1, 1 + gh * gw, hidden}).normal_(0, 0.02));
  auto holder = register_module("layers", std::make_shared<nn::Module>());
  for (int64_t i = 0; i < layers; ++i)
    blocks.push_back(holder->register_module("encoder_layer_" + std::to_string(i), EncoderBlock(hidden, heads, mlp)));
  ln = register_module("ln", nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(1e-6)));
}

torch::Tensor EncoderImpl::forward(torch::Tensor x, int64_t h, int64_t w) {
  x = x + resamplePositions(pos_embedding, gh, gw, h, w).to(x.dtype());
  for (auto& b : blocks) x = checkpoint ? checkpointed(*b, x) : b->run(x);
  return ln->forward(x);
}

VitBackbone::VitBackbone(const VitConfig& c, int64_t tubelet) : cfg(c), tubelet(tubelet) {
  const int64_t grid = c.imageSize / c.patch;
  if (tubelet == 0) {
    conv2d = register_module("conv_proj", nn::Conv2d(nn::Conv2dOptions(3, c.hidden, c.patch).stride(c.patch)));
    nn::init::normal_(conv2d->weight, 0, std::sqrt(1.0 / (3 * c.patch * c.patch)));
    nn::init::zeros_(conv2d->bias);
  } else {
    conv3d =
        register_module("conv_proj", nn::Conv3d(nn::Conv3dOptions(3, c.hidden, {tubelet, c.patch, c.patch}).stride({tubelet, c.patch, c.patch})));
    nn::init::normal_(conv3d->weight, 0, std::sqrt(1.0 / (3 * tubelet * c.patch * c.patch)));
    nn::init::zeros_(conv3d->bias);
  }
  class_token = register_parameter("class_token", torch::zeros({1, 1, c.hidden}));
  encoder = register_module("encoder", Encoder(grid, grid, c.hidden, c.layers, c.heads, c.mlp));
  checkpointedEncoders.push_back(encoder);
}

torch::Tensor VitBackbone::frameTokens(torch::Tensor x) {
  const int64_t b = x.size(0), t = x.size(2);
  if (x.size(3) < cfg.patch || x.size(4) < cfg.patch)
    throw Error(code::kInvalidArgument, "input: frames of " + std::to_string(x.size(3)) + "x" + std::to_string(x.size(4)) +
                                            " px are smaller than one " + std::to_string(cfg.patch) + " px patch");
  torch::Tensor p;  // [B * T', D, h, w]
  int64_t steps = t;
  if (tubelet == 0) {
    p = conv2d->forward(x.transpose(1, 2).reshape({b * t, x.size(1), x.size(3), x.size(4)}));
  } else {
    if (t % tubelet != 0)
      throw Error(code::kInvalidArgument, "input: " + std::to_string(t) + " frames are not a multiple of the tubelet's " + std::to_string(tubelet));
    steps = t / tubelet;
    p = conv3d->forward(x);  // [B, D, T', h, w]
    p = p.transpose(1, 2).reshape({b * steps, p.size(1), p.size(3), p.size(4)});
  }
  const int64_t h = p.size(2), w = p.size(3);
  torch::Tensor tokens = p.flatten(2).transpose(1, 2);
  tokens = torch::cat({class_token.expand({tokens.size(0), 1, -1}).to(tokens.dtype()), tokens}, 1);
  return encoder->forward(tokens, h, w).select(1, 0).reshape({b, steps, -1});
}

namespace {
// (torchvision, timm) names: outside the blocks, then inside block N.
const std::pair<const char*, const char*> kTopNames[] = {{"conv_proj.weight", "patch_embed.proj.weight"},
                                                         {"conv_proj.bias", "patch_embed.proj.bias"},
                                                         {"class_token", "cls_token"},
                                                         {"encoder.pos_embedding", "pos_embed"},
                                                         {"encoder.ln.weight", "norm.weight"},
                                                         {"encoder.ln.bias", "norm.bias"},
                                                         {"heads.head.weight", "head.weight"},
                                                         {"heads.head.bias", "head.bias"}};
const std::pair<const char*, const char*> kBlockNames[] = {{"ln_1.weight", "norm1.weight"},
                                                           {"ln_1.bias", "norm1.bias"},
                                                           {"self_attention.in_proj_weight", "attn.qkv.weight"},
                                                           {"self_attention.in_proj_bias", "attn.qkv.bias"},
                                                           {"self_attention.out_proj.weight", "attn.proj.weight"},
                                                           {"self_attention.out_proj.bias", "attn.proj.bias"},
                                                           {"ln_2.weight", "norm2.weight"},
                                                           {"ln_2.bias", "norm2.bias"},
                                                           {"mlp.0.weight", "mlp.fc1.weight"},
                                                           {"mlp.0.bias", "mlp.fc1.bias"},
                                                           {"mlp.3.weight", "mlp.fc2.weight"},
                                                           {"mlp.3.bias", "mlp.fc2.bias"}};
}  // namespace

void renameVitState(std::map<std::string, torch::Tensor>& state, bool toTimm) {
  static const std::regex torchvisionBlock(R"(^encoder\.layers\.encoder_layer_(\d+)\.(.*)$)"), timmBlock(R"(^blocks\.(\d+)\.(.*)$)");
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : state) {
    std::string renamed = name;
    for (const auto& [tv, timm] : kTopNames)
      if (name == (toTimm ? tv : timm)) renamed = toTimm ? timm : tv;
    std::smatch m;
    if (renamed == name && std::regex_match(name, m, toTimm ? torchvisionBlock : timmBlock))
      for (const auto& [tv, timm] : kBlockNames)
        if (m[2] == (toTimm ? tv : timm))
          renamed = toTimm ? "blocks." + m[1].str() + "." + timm : "encoder.layers.encoder_layer_" + m[1].str() + "." + tv;
    out[renamed] = t;
  }
  state = std::move(out);
}

void VitBackbone::adaptState(std::map<std::string, torch::Tensor>& state) const {
  renameVitState(state, /*toTimm=*/false);
  resampleStatePositions(state, "encoder.pos_embedding", cfg.imageSize / cfg.patch);
  // ViViT's central-frame initialisation: the image kernel in the tubelet's middle
  // frame, zeros elsewhere, so a clip of identical frames embeds as the image does.
  auto conv = state.find("conv_proj.weight");
  if (tubelet > 0 && conv != state.end() && conv->second.dim() == 4) {
    const torch::Tensor w = conv->second;
    torch::Tensor inflated = torch::zeros({w.size(0), w.size(1), tubelet, w.size(2), w.size(3)}, w.options());
    inflated.select(2, tubelet / 2).copy_(w);
    conv->second = inflated;
  }
}

bool VitBackbone::decays(const std::string& name, const torch::Tensor& p) const {
  if (p.dim() <= 1) return false;  // biases and norms
  for (const char* n : {"class_token", "pos_embedding", "temporal_token"})
    if (name.find(n) != std::string::npos) return false;
  return true;
}

int64_t VitBackbone::layerDepth(const std::string& name) const {
  if (name.rfind("conv_proj.", 0) == 0 || name == "class_token" || name == "encoder.pos_embedding") return 0;
  static const std::regex block(R"(^encoder\.layers\.encoder_layer_(\d+)\.)");
  std::smatch m;
  if (std::regex_search(name, m, block)) return std::stoll(m[1]) + 1;
  return numLayers();
}

bool VitBackbone::setGradientCheckpointing(bool on) {
  for (auto& e : checkpointedEncoders) e->checkpoint = on;
  return true;
}

namespace {

// The image ViT on every frame: torchvision's head on the frames' mean class token.
struct VitFrames : VitBackbone {
  VitFrames(const VitConfig& c, int64_t numClasses) : VitBackbone(c, 0) {
    auto heads = register_module("heads", std::make_shared<nn::Module>());
    head = heads->register_module("head", nn::Linear(c.hidden, numClasses));
    nn::init::zeros_(head->weight);
    nn::init::zeros_(head->bias);
  }
  torch::Tensor forward(torch::Tensor x) override { return head->forward(features(x)); }
  torch::Tensor features(torch::Tensor x) override { return frameTokens(x).mean(1); }
  int64_t featureDim() const override { return cfg.hidden; }
  // The extraction table's per-video row: mean and standard deviation over frames.
  torch::Tensor embedding(torch::Tensor x) override {
    torch::Tensor f = frameTokens(x);
    torch::Tensor sd = f.size(1) > 1 ? f.std(1, /*unbiased=*/false) : torch::zeros_like(f.select(1, 0));
    return torch::cat({f.mean(1), sd}, 1);
  }
  int64_t embeddingDim() const override { return 2 * cfg.hidden; }
  std::vector<std::string> headPrefixes() const override { return {"heads."}; }
  nn::Linear head{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> vit_b_16(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VitFrames>(scaledVit(vitB16(), scale), numClasses);
}
std::shared_ptr<VideoModel> vit_s_16(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VitFrames>(scaledVit(vitS16(), scale), numClasses);
}
std::shared_ptr<VideoModel> vit_ti_16(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VitFrames>(scaledVit(vitTi16(), scale), numClasses);
}

}  // namespace fvc::deep
