#pragma once
// 5e variable_ar_cnn: naive_cnn's per-frame 2D CNN on frames at their own aspect
// ratio (no letterbox). A batch mixes shapes by zero padding; the input's fourth
// channel is the validity mask, and features are averaged over the valid positions
// only (the mask pooled to the feature map's size), so padding never reaches the head.
// Input [4, T, H, W]: normalised RGB, then the mask (1 real, 0 padding).
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> variable_ar_cnn(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
