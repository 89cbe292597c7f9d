#include "torch/pytorchvideo_blocks.h"

#include "torch/depthwise_conv3d.h"

namespace fvc::deep::pv {

nn::Conv3d conv(int64_t in, int64_t out, Triple kernel, Triple stride, Triple padding, int64_t groups, bool bias) {
  return nn::Conv3d(nn::Conv3dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups).bias(bias));
}

Triple same(Triple k) { return Triple({(*k)[0] / 2, (*k)[1] / 2, (*k)[2] / 2}); }

StemImpl::StemImpl(int64_t in, int64_t out, Triple kernel, Triple stride, bool pool) : maxPool(pool) {
  conv = register_module("conv", pv::conv(in, out, kernel, stride, same(kernel)));
  norm = register_module("norm", BatchNorm3d(out));
}

StemImpl::StemImpl(int64_t in, int64_t out, int64_t temporalKernel) {
  // PyTorchVideo's Conv2plus1d in create_x3d_stem holds the spatial convolution as
  // "conv_t" and the temporal one as "conv_xy"; the names are kept, swapped as they are.
  conv2plus1d = nn::Sequential();
  convT = pv::conv(in, out, {1, 3, 3}, {1, 2, 2}, {0, 1, 1});
  convXY = pv::conv(out, out, {temporalKernel, 1, 1}, 1, {temporalKernel / 2, 0, 0}, out);
  conv2plus1d->push_back("conv_t", convT);
  conv2plus1d->push_back("conv_xy", convXY);
  register_module("conv", conv2plus1d);
  norm = register_module("norm", BatchNorm3d(out));
}

torch::Tensor StemImpl::forward(torch::Tensor x) {
  x = torch::relu(norm->forward(conv ? conv->forward(x) : depthwiseOrConv(convXY, convT->forward(x))));
  if (maxPool) x = torch::max_pool3d(x, {1, 3, 3}, {1, 2, 2}, {0, 1, 1});
  return x;
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t reduced) {
  block->push_back(conv(channels, reduced, 1, 1, 0, 1, true));
  block->push_back(nn::ReLU());
  block->push_back(conv(reduced, channels, 1, 1, 0, 1, true));
  block->push_back(nn::Sigmoid());
  register_module("block", block);
}

torch::Tensor SqueezeExcitationImpl::forward(torch::Tensor x) { return x * block->forward(x.mean({2, 3, 4}, true)); }

BottleneckBlockImpl::BottleneckBlockImpl(const BottleneckOptions& o) {
  conv_a = register_module("conv_a", conv(o.dimIn, o.dimInner, o.kernelA, o.strideA, same(o.kernelA)));
  norm_a = register_module("norm_a", BatchNorm3d(o.dimInner));
  conv_b = register_module("conv_b", conv(o.dimInner, o.dimInner, o.kernelB, o.strideB, same(o.kernelB), o.groupsB));
  if (o.x3d) {
    nn::Sequential seq;
    seq->push_back(BatchNorm3d(o.dimInner));
    if (o.seReduced > 0) seq->push_back(SqueezeExcitation(o.dimInner, o.seReduced));
    else seq->push_back(nn::Identity());
    norm_b_se = register_module("norm_b", seq);
  } else {
    norm_b = register_module("norm_b", BatchNorm3d(o.dimInner));
  }
  conv_c = register_module("conv_c", conv(o.dimInner, o.dimOut, 1));
  norm_c = register_module("norm_c", BatchNorm3d(o.dimOut));
}

torch::Tensor BottleneckBlockImpl::forward(torch::Tensor x) {
  x = torch::relu(norm_a->forward(conv_a->forward(x)));
  x = depthwiseOrConv(conv_b, x);
  if (norm_b_se) {
    x = norm_b_se->forward(x);
    x = x * torch::sigmoid(x);  // X3D's act_b: swish
  } else {
    x = torch::relu(norm_b->forward(x));
  }
  return norm_c->forward(conv_c->forward(x));
}

ResBlockImpl::ResBlockImpl(const BottleneckOptions& o, bool projection, bool projectionNorm) {
  if (projection) {
    const Triple stride({(*o.strideA)[0] * (*o.strideB)[0], (*o.strideA)[1] * (*o.strideB)[1], (*o.strideA)[2] * (*o.strideB)[2]});
    branch1_conv = register_module("branch1_conv", conv(o.dimIn, o.dimOut, 1, stride));
    if (projectionNorm) branch1_norm = register_module("branch1_norm", BatchNorm3d(o.dimOut));
  }
  branch2 = register_module("branch2", BottleneckBlock(o));
}

torch::Tensor ResBlockImpl::forward(torch::Tensor x) {
  torch::Tensor shortcut = x;
  if (branch1_conv) {
    shortcut = branch1_conv->forward(x);
    if (branch1_norm) shortcut = branch1_norm->forward(shortcut);
  }
  return torch::relu(shortcut + branch2->forward(x));
}

torch::Tensor ResStageImpl::forward(torch::Tensor x) {
  for (auto& b : *res_blocks) x = b->as<ResBlockImpl>()->forward(x);
  return x;
}

ResStage resStage(int64_t depth, int64_t dimIn, int64_t dimInner, int64_t dimOut, const std::vector<Triple>& kernelsA, Triple strideA,
                  Triple strideB) {
  ResStage stage;
  for (int64_t i = 0; i < depth; ++i) {
    BottleneckOptions o{i == 0 ? dimIn : dimOut, dimInner, dimOut};
    o.kernelA = kernelsA[i % kernelsA.size()];
    o.strideA = i == 0 ? strideA : Triple(1);
    o.strideB = i == 0 ? strideB : Triple(1);
    const bool strided = i == 0 && ((*strideA)[0] * (*strideB)[0] * (*strideB)[1] * (*strideB)[2] != 1);
    const bool projection = o.dimIn != o.dimOut || strided;
    stage->res_blocks->push_back(ResBlock(o, projection, projection));
  }
  return stage;
}

HeadImpl::HeadImpl(int64_t in, int64_t numClasses, double p) {
  dropout = register_module("dropout", nn::Dropout(p));
  proj = register_module("proj", nn::Linear(in, numClasses));
}

torch::Tensor HeadImpl::forward(torch::Tensor pooled) { return proj->forward(dropout->forward(pooled)); }

torch::Tensor globalPool(const torch::Tensor& x) { return x.mean({2, 3, 4}); }

torch::Tensor slowFrames(const torch::Tensor& fast, int64_t alpha) {
  const int64_t t = fast.size(2);
  const int64_t n = std::max<int64_t>(1, t / alpha);
  torch::Tensor idx = torch::linspace(0, t - 1, n).to(torch::kLong).to(fast.device());
  return fast.index_select(2, idx);
}

}  // namespace fvc::deep::pv
