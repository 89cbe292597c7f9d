#pragma once
// A native CPU path for depthwise 3D convolution (groups == channels), the layer
// X3D is built from (its stem's conv_xy and every block's conv_b). LibTorch 1.13
// sends these to oneDNN, whose depthwise 3D kernels run at well under 1 GFLOP/s on
// CPU: they took two thirds of an X3D-S training step. The module and its weight
// stay an nn::Conv3d, so names, checkpoints and weight imports are unchanged; only
// the forward (and its backward) is routed here when the input allows.
#include <string>
#include <vector>

#include "torch/runtime.h"
#include "torch/torch_pch.h"

namespace fvc::deep {

// conv->forward(x), through the native kernels when `conv` is depthwise (groups ==
// in == out channels, dilation 1, zero padding), x is a float32 CPU tensor and
// autocast is off; LibTorch's own convolution otherwise. FVC_NATIVE_DEPTHWISE=0
// turns the native path off (for comparisons).
torch::Tensor depthwiseOrConv(torch::nn::Conv3d& conv, const torch::Tensor& x);

// The native kernels themselves, differentiable (forward, input and weight gradients).
torch::Tensor depthwiseConv3d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, std::vector<int64_t> stride,
                              std::vector<int64_t> padding);

// The native kernels against LibTorch's grouped convolution on random inputs of
// X3D's shapes (strided, padded, temporal-only) and an uneven one with a bias.
std::vector<torchrt::KernelCheck> checkDepthwiseConv3d();

}  // namespace fvc::deep
