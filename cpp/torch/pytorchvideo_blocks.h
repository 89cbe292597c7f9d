#pragma once
// PyTorchVideo's building blocks (pytorchvideo/models/{stem,resnet,head}.py) with
// its attribute names, so state dicts saved from PyTorchVideo's i3d_r50, x3d_* and
// slowfast_r50 load by name: "blocks.1.res_blocks.0.branch2.conv_a.weight".
#include "torch/batch_norm.h"
#include "torch/video_model.h"

namespace fvc::deep::pv {

namespace nn = torch::nn;
using Triple = torch::ExpandingArray<3>;

nn::Conv3d conv(int64_t in, int64_t out, Triple kernel, Triple stride = 1, Triple padding = 0, int64_t groups = 1, bool bias = false);
// Padding that keeps the size: PyTorchVideo's [k // 2 for k in kernel].
Triple same(Triple kernel);

// ResNetBasicStem: conv, norm, ReLU, optional max-pool.
struct StemImpl : nn::Module {
  StemImpl(int64_t in, int64_t out, Triple kernel, Triple stride, bool pool);
  // X3D's stem: a spatial then a depthwise temporal convolution under "conv.conv_t" / "conv.conv_xy".
  StemImpl(int64_t in, int64_t out, int64_t temporalKernel);
  torch::Tensor forward(torch::Tensor x);
  nn::Conv3d conv{nullptr};
  nn::Sequential conv2plus1d{nullptr};
  nn::Conv3d convT{nullptr}, convXY{nullptr};  // conv2plus1d's two, for the depthwise path
  BatchNorm3d norm{nullptr};
  bool maxPool = false;
};
TORCH_MODULE(Stem);

// fvcore's SqueezeExcitation (3D): mean over T, H, W, then block = conv, ReLU, conv, sigmoid.
struct SqueezeExcitationImpl : nn::Module {
  SqueezeExcitationImpl(int64_t channels, int64_t reduced);
  torch::Tensor forward(torch::Tensor x);
  nn::Sequential block;
};
TORCH_MODULE(SqueezeExcitation);

struct BottleneckOptions {
  int64_t dimIn, dimInner, dimOut;
  Triple kernelA = Triple(1), strideA = Triple(1), kernelB = Triple({1, 3, 3}), strideB = Triple(1);
  int64_t groupsB = 1;
  int64_t seReduced = 0;  // X3D: > 0 puts a squeeze-excitation after norm_b
  bool x3d = false;       // X3D: norm_b is Sequential(BN, SE or identity) and act_b is swish
};

// BottleneckBlock: conv_a (temporal or 1x1x1), conv_b (spatial), conv_c (1x1x1), each normalised.
struct BottleneckBlockImpl : nn::Module {
  explicit BottleneckBlockImpl(const BottleneckOptions& o);
  torch::Tensor forward(torch::Tensor x);
  nn::Conv3d conv_a{nullptr}, conv_b{nullptr}, conv_c{nullptr};
  BatchNorm3d norm_a{nullptr}, norm_c{nullptr};
  // "norm_b": a batch norm, or for X3D Sequential(batch norm, squeeze-excitation or identity).
  BatchNorm3d norm_b{nullptr};
  nn::Sequential norm_b_se{nullptr};
};
TORCH_MODULE(BottleneckBlock);

// ResBlock: branch2 plus the input, or its projection in branch1 when the shape changes.
struct ResBlockImpl : nn::Module {
  ResBlockImpl(const BottleneckOptions& o, bool projection, bool projectionNorm);
  torch::Tensor forward(torch::Tensor x);
  nn::Conv3d branch1_conv{nullptr};
  BatchNorm3d branch1_norm{nullptr};
  BottleneckBlock branch2{nullptr};
};
TORCH_MODULE(ResBlock);

// ResStage: "res_blocks.<i>".
struct ResStageImpl : nn::Module {
  ResStageImpl() : res_blocks(register_module("res_blocks", nn::ModuleList())) {}
  torch::Tensor forward(torch::Tensor x);
  nn::ModuleList res_blocks;
};
TORCH_MODULE(ResStage);

// A ResNet stage as PyTorchVideo's create_res_stage builds it: the first block takes
// the strides; conv_a kernels cycle through `kernelsA`.
ResStage resStage(int64_t depth, int64_t dimIn, int64_t dimInner, int64_t dimOut, const std::vector<Triple>& kernelsA, Triple strideA,
                  Triple strideB);

// ResNetBasicHead as fvc uses it: global average pooling (PyTorchVideo's AvgPool3d
// covers the whole feature map at the published input size, so the two agree there),
// dropout 0.5, then "proj". Logits, before any softmax.
struct HeadImpl : nn::Module {
  HeadImpl(int64_t in, int64_t numClasses, double dropout = 0.5);
  torch::Tensor forward(torch::Tensor pooled);  // [B, in]
  nn::Dropout dropout{nullptr};
  nn::Linear proj{nullptr};
};
TORCH_MODULE(Head);

// Global average over T, H, W: [B, C, T, H, W] -> [B, C].
torch::Tensor globalPool(const torch::Tensor& x);

// The slow pathway's frames: PyTorchVideo's PackPathway, T / alpha frames at
// linspace(0, T - 1) of the fast clip.
torch::Tensor slowFrames(const torch::Tensor& fast, int64_t alpha);

}  // namespace fvc::deep::pv
