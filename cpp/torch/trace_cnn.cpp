#include "torch/trace_cnn.h"

#include "common/error.h"
#include "torch/batch_norm.h"
#include "torch/residual_cnn.h"

namespace fvc::deep {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t stride = 1) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).stride(stride)); }

// The sample standard deviation over `dims` (torch.std's, n - 1), written out so that
// LibTorch 1.13 and 2.x compute it alike; the 1e-8 keeps its gradient finite where the
// values are all equal (torch.std's is NaN there).
torch::Tensor stdOver(const torch::Tensor& x, std::vector<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  torch::Tensor centred = x - x.mean(dims, true);
  return (centred * centred).sum(dims).div(static_cast<double>(std::max<int64_t>(1, n - 1))).add(1e-8).sqrt();
}

struct TraceCnn : VideoModel {
  TraceCnn(int64_t numClasses, const Scale& scale) {
    if (!(scale.width > 0)) throw Error(code::kInvalidArgument, "scale.width: must be > 0");
    w = std::max<int64_t>(2, std::llround(8 * scale.width));
    c1 = register_module("c1", nn::Sequential(conv(6, w), nn::ReLU(nn::ReLUOptions(true)), conv(w, w, 2)));
    c2 = register_module(
        "c2", nn::Sequential(conv(3 * w, 2 * w), BatchNorm2d(2 * w), nn::ReLU(nn::ReLUOptions(true)), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                             conv(2 * w, 4 * w), BatchNorm2d(4 * w), nn::ReLU(nn::ReLUOptions(true))));
    pd = register_module("pd", nn::Sequential(conv(4, w), nn::ReLU(nn::ReLUOptions(true)), conv(w, 2 * w), nn::ReLU(nn::ReLUOptions(true))));
    dropout = register_module("dropout", nn::Dropout(0.1));
    fc = register_module("fc", nn::Linear(featureDim(), numClasses));
  }

  int64_t featureDim() const override { return 11 * w + 3; }

  torch::Tensor features(torch::Tensor clips) override {
    const int64_t b = clips.size(0), c = clips.size(1), t = clips.size(2), h = clips.size(3), wd = clips.size(4);
    if (c != 3) throw Error(code::kInvalidArgument, "input: trace_cnn takes RGB clips, got " + std::to_string(c) + " channels");
    if (t < 2 || t % 2) throw Error(code::kInvalidArgument, "input: trace_cnn takes frames in adjacent pairs, got " + std::to_string(t) + " frames");
    if (h < 64 || wd < 64 || h % 16 || wd % 16)
      throw Error(code::kInvalidArgument, "input: trace_cnn needs frames whose sides are multiples of 16 px (at least 64), got " + std::to_string(h) +
                                              "x" + std::to_string(wd));
    torch::Tensor x5 = clips.transpose(1, 2);         // [B, T, 3, H, W]
    torch::Tensor x = x5.reshape({b * t, 3, h, wd});  // one image per frame
    torch::Tensor r = torch::clamp(torch::conv2d(x, kernels.to(x.options()), torch::Tensor(), 1, 2), -3.0, 3.0);
    torch::Tensor hid = c1->forward(torch::cat({x, r}, 1));                // [BT, w, H/2, W/2]
    torch::Tensor e = torch::log(torch::avg_pool2d(hid * hid, 8) + 1e-3);  // local log energy, 16 px cells
    const int64_t gh = e.size(2), gw = e.size(3);
    torch::Tensor sp = e - e.mean({2, 3}, true);  // relative to the frame
    torch::Tensor e5 = e.view({b, t, w, gh, gw});
    torch::Tensor tp = (e5 - e5.mean(1, true)).reshape({b * t, w, gh, gw});  // relative to the clip
    torch::Tensor z = c2->forward(torch::cat({sp, tp, e}, 1));
    torch::Tensor f = torch::cat({stdOver(z.flatten(2), {2}), std::get<0>(z.flatten(2).max(2))}, 1).view({b, t, -1}).mean(1);
    // Each cell's colour against the clip's mean colour there, less the frame's overall change.
    torch::Tensor col = torch::avg_pool2d(x, 16).view({b, t, 3, gh, gw});
    col = col - col.mean(1, true);
    col = col - col.mean({3, 4}, true);
    torch::Tensor colour = col.abs().mean({3, 4}).mean(1);                  // [B, 3]
    torch::Tensor spread = stdOver(sp.view({b, t, w, gh, gw}), {1, 3, 4});  // [B, w]
    // Adjacent pairs: (sample, successor) interleaved.
    torch::Tensor d = (x5.slice(1, 1, t, 2) - x5.slice(1, 0, t, 2)).reshape({b * t / 2, 3, h, wd});
    torch::Tensor cm = torch::avg_pool2d(d, 8);
    cm = cm - std::get<0>(cm.flatten(2).median(2)).unsqueeze(2).unsqueeze(3);
    torch::Tensor ma = torch::log(torch::avg_pool2d(d.abs().mean(1, true), 8) + 1e-2);
    torch::Tensor q = pd->forward(torch::cat({cm * 4, ma}, 1));
    q = std::get<0>(std::get<0>(q.flatten(2).max(2)).view({b, t / 2, -1}).max(1));  // [B, 2w]
    return torch::cat({q, f, colour, spread}, 1);
  }

  torch::Tensor forward(torch::Tensor clips) override { return fc->forward(dropout->forward(features(clips))); }

  int64_t w = 8;
  nn::Sequential c1{nullptr}, c2{nullptr}, pd{nullptr};
  nn::Dropout dropout{nullptr};
  nn::Linear fc{nullptr};
  // Fixed: kept out of the parameters and the state dict.
  torch::Tensor kernels = srmKernelsRgb();
};

}  // namespace

std::shared_ptr<VideoModel> trace_cnn(int64_t numClasses, const Scale& scale) { return std::make_shared<TraceCnn>(numClasses, scale); }

}  // namespace fvc::deep
