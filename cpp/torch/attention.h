#pragma once
// Multi-head attention as the transformers use it, and gradient checkpointing.
#include <torch/torch.h>

namespace fvc::deep {

// softmax(q k^T / sqrt(d)) v over [N, heads, L, d]. LibTorch 2.x has a fused kernel
// (flash / memory-efficient on CUDA, a fused CPU kernel); 1.13 gets the explicit form.
torch::Tensor scaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// Self-attention of x [N, L, D] given its packed projection to q, k and v ([3D, D]
// weight, [3D] bias) and the output projection: the computation of
// torch.nn.MultiheadAttention (torchvision's ViT) and of timm's Attention (TimeSformer).
torch::Tensor selfAttention(const torch::Tensor& x, const torch::Tensor& qkvWeight, const torch::Tensor& qkvBias, int64_t heads,
                            torch::nn::Linear& proj);

// What gradient checkpointing recomputes: one block, x -> y of the same shape.
struct Checkpointable {
  virtual ~Checkpointable() = default;
  virtual torch::Tensor run(const torch::Tensor& x) = 0;
};

// block.run(x), keeping only x for the backward pass, which recomputes the block
// (under the autocast state of the forward pass) and back-propagates through it.
// Blocks must be deterministic: fvc's transformers have no dropout inside blocks.
// Without grad mode (evaluation) it is a plain call.
torch::Tensor checkpointed(Checkpointable& block, const torch::Tensor& x);

}  // namespace fvc::deep
