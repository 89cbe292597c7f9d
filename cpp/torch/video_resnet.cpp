#include "torch/video_resnet.h"

#include "torch/batch_norm.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;
using Triple = torch::ExpandingArray<3>;

enum class ConvKind { Simple3d, NoTemporal, TwoPlusOne };

nn::Conv3d conv3d(int64_t in, int64_t out, Triple k, Triple s, Triple p) {
  return nn::Conv3d(nn::Conv3dOptions(in, out, k).stride(s).padding(p).bias(false));
}

// torchvision's Conv2Plus1D is an nn.Sequential; its layers keep the names 0..3.
struct Conv2Plus1DImpl : nn::Module {
  Conv2Plus1DImpl(int64_t in, int64_t out, int64_t mid, int64_t stride)
      : spatial(register_module("0", conv3d(in, mid, {1, 3, 3}, {1, stride, stride}, {0, 1, 1}))),
        bn(register_module("1", BatchNorm3d(mid))),
        temporal(register_module("3", conv3d(mid, out, {3, 1, 1}, {stride, 1, 1}, {1, 0, 0}))) {}
  torch::Tensor forward(torch::Tensor x) { return temporal->forward(torch::relu(bn->forward(spatial->forward(x)))); }
  nn::Conv3d spatial;
  BatchNorm3d bn;
  nn::Conv3d temporal;
};
TORCH_MODULE(Conv2Plus1D);

// torchvision's Conv3DSimple, Conv3DNoTemporal and Conv2Plus1D.
nn::AnyModule convBuilder(ConvKind kind, int64_t in, int64_t out, int64_t mid, int64_t stride) {
  switch (kind) {
    case ConvKind::Simple3d:
      return nn::AnyModule(conv3d(in, out, {3, 3, 3}, {stride, stride, stride}, {1, 1, 1}));
    case ConvKind::NoTemporal:
      return nn::AnyModule(conv3d(in, out, {1, 3, 3}, {1, stride, stride}, {0, 1, 1}));
    case ConvKind::TwoPlusOne:
      return nn::AnyModule(Conv2Plus1D(in, out, mid, stride));
  }
  throw std::logic_error("conv kind");
}

Triple downsampleStride(ConvKind kind, int64_t s) { return kind == ConvKind::NoTemporal ? Triple({1, s, s}) : Triple({s, s, s}); }

struct BasicBlockImpl : nn::Module {
  BasicBlockImpl(int64_t inplanes, int64_t planes, ConvKind kind, int64_t stride, nn::Sequential downsample) {
    const int64_t mid = (inplanes * planes * 3 * 3 * 3) / (inplanes * 3 * 3 + 3 * planes);
    nn::Sequential c1;
    c1->push_back(convBuilder(kind, inplanes, planes, mid, stride));
    c1->push_back(BatchNorm3d(planes));
    c1->push_back(nn::ReLU(nn::ReLUOptions(true)));
    conv1 = register_module("conv1", c1);
    nn::Sequential c2;
    c2->push_back(convBuilder(kind, planes, planes, mid, 1));
    c2->push_back(BatchNorm3d(planes));
    conv2 = register_module("conv2", c2);
    if (downsample) this->downsample = register_module("downsample", downsample);
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor residual = downsample ? downsample->forward(x) : x;
    return torch::relu(conv2->forward(conv1->forward(x)) + residual);
  }
  nn::Sequential conv1{nullptr}, conv2{nullptr}, downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

struct VideoResNet : VideoModel {
  // numClasses 0 builds no head (a stream inside another model).
  VideoResNet(bool r2plus1dStem, const std::vector<ConvKind>& kinds, int64_t numClasses, const Scale& scale, int64_t inChannels = 3) {
    const int64_t widths[4] = {scaled(64, scale), scaled(128, scale), scaled(256, scale), scaled(512, scale)};
    if (r2plus1dStem) {
      const int64_t s0 = scaled(45, scale);
      stem = register_module(
          "stem", nn::Sequential(conv3d(inChannels, s0, {1, 7, 7}, {1, 2, 2}, {0, 3, 3}), BatchNorm3d(s0), nn::ReLU(nn::ReLUOptions(true)),
                                 conv3d(s0, widths[0], {3, 1, 1}, {1, 1, 1}, {1, 0, 0}), BatchNorm3d(widths[0]), nn::ReLU(nn::ReLUOptions(true))));
    } else {
      stem = register_module("stem", nn::Sequential(conv3d(inChannels, widths[0], {3, 7, 7}, {1, 2, 2}, {1, 3, 3}), BatchNorm3d(widths[0]),
                                                    nn::ReLU(nn::ReLUOptions(true))));
    }
    int64_t inplanes = widths[0];
    for (int i = 0; i < 4; ++i) {
      const int64_t stride = i == 0 ? 1 : 2;
      const int64_t planes = widths[i];
      nn::Sequential layer;
      nn::Sequential downsample{nullptr};
      if (stride != 1 || inplanes != planes)
        downsample = nn::Sequential(nn::Conv3d(nn::Conv3dOptions(inplanes, planes, 1).stride(downsampleStride(kinds[i], stride)).bias(false)),
                                    BatchNorm3d(planes));
      layer->push_back(BasicBlock(inplanes, planes, kinds[i], stride, downsample));
      inplanes = planes;
      for (int64_t b = 1; b < blocks(2, scale); ++b) layer->push_back(BasicBlock(inplanes, planes, kinds[i], 1, nn::Sequential{nullptr}));
      layers[i] = register_module("layer" + std::to_string(i + 1), layer);
    }
    dim = inplanes;
    if (numClasses > 0) fc = register_module("fc", nn::Linear(inplanes, numClasses));
    initVideoWeights(*this);
  }
  torch::Tensor features(torch::Tensor x) override {
    x = stem->forward(x);
    for (auto& l : layers) x = l->forward(x);
    return torch::adaptive_avg_pool3d(x, {1, 1, 1}).flatten(1);
  }
  int64_t featureDim() const override { return dim; }
  torch::Tensor forward(torch::Tensor x) override { return fc->forward(features(x)); }
  int64_t dim = 0;
  nn::Sequential stem{nullptr};
  nn::Sequential layers[4] = {nn::Sequential{nullptr}, nn::Sequential{nullptr}, nn::Sequential{nullptr}, nn::Sequential{nullptr}};
  nn::Linear fc{nullptr};
};

}  // namespace

std::shared_ptr<VideoModel> r3d_18(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VideoResNet>(false, std::vector<ConvKind>(4, ConvKind::Simple3d), numClasses, scale);
}

std::shared_ptr<VideoModel> mc3_18(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VideoResNet>(
      false, std::vector<ConvKind>{ConvKind::Simple3d, ConvKind::NoTemporal, ConvKind::NoTemporal, ConvKind::NoTemporal}, numClasses, scale);
}

std::shared_ptr<VideoModel> mc3_18_stream(int64_t inChannels, const Scale& scale) {
  return std::make_shared<VideoResNet>(
      false, std::vector<ConvKind>{ConvKind::Simple3d, ConvKind::NoTemporal, ConvKind::NoTemporal, ConvKind::NoTemporal}, 0, scale, inChannels);
}

std::shared_ptr<VideoModel> r2plus1d_18(int64_t numClasses, const Scale& scale) {
  return std::make_shared<VideoResNet>(true, std::vector<ConvKind>(4, ConvKind::TwoPlusOne), numClasses, scale);
}

}  // namespace fvc::deep
