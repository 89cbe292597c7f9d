#pragma once
// Vision Transformer (Dosovitskiy et al., 2021) as torchvision builds it, and what
// fvc's video transformers share. Module names are torchvision's (conv_proj,
// class_token, encoder.pos_embedding, encoder.layers.encoder_layer_N.ln_1,
// .self_attention.in_proj_weight, .mlp.0, encoder.ln, heads.head), so torchvision's
// vit_b_16 state dict loads unchanged into every model built on it; timm's ViT files
// (model.safetensors) load through renameVitState.
#include "torch/attention.h"
#include "torch/video_model.h"

namespace fvc::deep {

// One ViT's dimensions. Width scales the per-head dimension (heads stay, so the
// hidden size stays divisible); depth caps the blocks.
struct VitConfig {
  int64_t patch = 16, hidden = 768, layers = 12, heads = 12, mlp = 3072;
  int64_t imageSize = 224;  // the grid of the position embedding: imageSize / patch per side
};
VitConfig vitB16();
VitConfig vitS16();
VitConfig vitTi16();
VitConfig scaledVit(VitConfig c, const Scale& scale);

// Position embeddings [1, 1 + gh * gw, D] (a class token's, then a gh x gw grid's)
// resampled to an h x w grid: bicubic with aligned corners, as torchvision's
// interpolate_embeddings does for weights of another image size. A 1-D sequence is
// a grid of width 1.
torch::Tensor resamplePositions(const torch::Tensor& pos, int64_t gh, int64_t gw, int64_t h, int64_t w);
// A weights file's square-grid position embedding (`name` in `state`) resampled in place
// to a grid x grid model; a non-square count is an error naming the tensor.
void resampleStatePositions(std::map<std::string, torch::Tensor>& state, const std::string& name, int64_t grid);
// A ViT state dict's names between torchvision's and timm's (which the TimeSformer
// authors' checkpoints share: patch_embed.proj, cls_token, pos_embed,
// blocks.N.norm1 / attn.qkv / attn.proj / norm2 / mlp.fc1 / mlp.fc2, norm, head).
// Names of neither layout stay as they are, for loading to report.
void renameVitState(std::map<std::string, torch::Tensor>& state, bool toTimm);

// torch.nn.MultiheadAttention's parameters (in_proj_weight, in_proj_bias, out_proj)
// as self-attention.
struct MultiheadAttentionImpl : torch::nn::Module {
  MultiheadAttentionImpl(int64_t hidden, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x) { return selfAttention(x, in_proj_weight, in_proj_bias, heads, out_proj); }
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
  int64_t heads;
};
TORCH_MODULE(MultiheadAttention);

// torchvision's EncoderBlock: pre-norm self-attention and MLP, LayerNorm eps 1e-6.
struct EncoderBlockImpl : torch::nn::Module, Checkpointable {
  EncoderBlockImpl(int64_t hidden, int64_t heads, int64_t mlp);
  torch::Tensor run(const torch::Tensor& x) override;
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  MultiheadAttention self_attention{nullptr};
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(EncoderBlock);

// torchvision's Encoder: position embedding, blocks encoder_layer_0.., final norm.
// Its embedding covers a gh x gw grid plus a class token and is resampled to the
// input's grid when they differ.
struct EncoderImpl : torch::nn::Module {
  EncoderImpl(int64_t gh, int64_t gw, int64_t hidden, int64_t layers, int64_t heads, int64_t mlp);
  // x: [N, 1 + h * w, D], class token first.
  torch::Tensor forward(torch::Tensor x, int64_t h, int64_t w);
  torch::Tensor pos_embedding;
  std::vector<EncoderBlock> blocks;
  torch::nn::LayerNorm ln{nullptr};
  int64_t gh, gw;
  bool checkpoint = false;
};
TORCH_MODULE(Encoder);

// A ViT applied to every frame (tubelet = 0) or to every tubelet of `tubelet` frames
// (ViViT's tubelet embedding, a 3D patch kernel): the class token of each after the
// encoder, [B, T', D]. Subclasses add what happens over time and the head.
struct VitBackbone : VideoModel {
  VitBackbone(const VitConfig& cfg, int64_t tubelet);
  torch::Tensor frameTokens(torch::Tensor clips);
  void adaptState(std::map<std::string, torch::Tensor>& state) const override;
  bool decays(const std::string& name, const torch::Tensor& p) const override;
  int64_t layerDepth(const std::string& name) const override;
  int64_t numLayers() const override { return cfg.layers + 1; }
  bool setGradientCheckpointing(bool on) override;

  VitConfig cfg;
  int64_t tubelet;
  torch::nn::Conv2d conv2d{nullptr};
  torch::nn::Conv3d conv3d{nullptr};
  torch::Tensor class_token;
  Encoder encoder{nullptr};
  std::vector<Encoder> checkpointedEncoders;  // the encoders gradient checkpointing covers
};

// The image ViTs per frame: class tokens averaged over time, torchvision's head
// (heads.head). One frame gives torchvision's logits.
std::shared_ptr<VideoModel> vit_b_16(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> vit_s_16(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> vit_ti_16(int64_t numClasses, const Scale& scale);

// 5k: a ViT per frame, the class tokens in time order through a GRU, dropout 0.5, fc.
std::shared_ptr<VideoModel> vit_gru(const VitConfig& vit, int64_t numClasses, const Scale& scale);
// 5l: a ViT per frame, then a temporal transformer over the class tokens (a learned
// temporal position embedding and class token), dropout 0.5, fc.
std::shared_ptr<VideoModel> vit_transformer(const VitConfig& vit, int64_t numClasses, const Scale& scale);
// 5n: ViViT's factorised encoder (Arnab et al., 2021, model 2): tubelets of 2 frames,
// a spatial ViT per tubelet, a temporal transformer over their class tokens, heads.head.
std::shared_ptr<VideoModel> vivit(const VitConfig& vit, int64_t numClasses, const Scale& scale);
// 5m: TimeSformer with divided space-time attention (Bertasius et al., 2021).
std::shared_ptr<VideoModel> timesformer(const VitConfig& vit, int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
