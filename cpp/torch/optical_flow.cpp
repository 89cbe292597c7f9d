// Optical flow for two_stream (5u), computed once per frame-cache entry with OpenCV
// and kept beside it, so training never recomputes it.
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "common/error.h"
#include "io/npy.h"
#include "torch/deep.h"
#include "torch/tensor_io.h"
#include "torch/torch_guard.h"

namespace fvc::deep {

void computeFlow(const std::string& framesNpy, const std::string& flowNpy, const std::string& method) {
  torchGuard([&] {
    if (method != "dis" && method != "farneback") throw Error(code::kInvalidArgument, "flow method '" + method + "': expected dis or farneback");
    torch::Tensor frames = loadNpyUint8(framesNpy).contiguous();
    if (frames.dim() != 4 || frames.size(3) != 3)
      throw Error(code::kInvalidData, framesNpy + ": expected frames [N, H, W, 3], got " + c10::str(frames.sizes()));
    const int n = static_cast<int>(frames.size(0)), h = static_cast<int>(frames.size(1)), w = static_cast<int>(frames.size(2));
    std::vector<cv::Mat> gray(n);
    for (int i = 0; i < n; ++i) {
      cv::Mat rgb(h, w, CV_8UC3, frames[i].data_ptr<uint8_t>());
      cv::cvtColor(rgb, gray[i], cv::COLOR_RGB2GRAY);
    }
    std::vector<uint8_t> out(static_cast<size_t>(n) * h * w * 2, 128);
    cv::Ptr<cv::DISOpticalFlow> dis = method == "dis" ? cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_FAST) : nullptr;
    cv::Mat flow;
    for (int i = 0; i + 1 < n; ++i) {
      if (dis) dis->calc(gray[i], gray[i + 1], flow);
      else cv::calcOpticalFlowFarneback(gray[i], gray[i + 1], flow, 0.5, 3, 15, 3, 5, 1.2, 0);
      uint8_t* dst = out.data() + static_cast<size_t>(i) * h * w * 2;
      for (int y = 0; y < h; ++y) {
        const cv::Vec2f* row = flow.ptr<cv::Vec2f>(y);
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 2; ++c) dst[(static_cast<size_t>(y) * w + x) * 2 + c] = cv::saturate_cast<uint8_t>(128.f + kFlowScale * row[x][c]);
      }
    }
    // The last frame has no successor: it repeats the flow into it.
    if (n >= 2)
      std::copy_n(out.data() + static_cast<size_t>(n - 2) * h * w * 2, static_cast<size_t>(h) * w * 2,
                  out.data() + static_cast<size_t>(n - 1) * h * w * 2);
    writeNpy(flowNpy, NpyType::Uint8, {n, h, w, 2}, out.data());
    return 0;
  });
}

}  // namespace fvc::deep
