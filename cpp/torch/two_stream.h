#pragma once
// 5u two_stream: an RGB stream and an optical-flow stream (Simonyan & Zisserman's
// two-stream design), each torchvision's mc3_18 without its head, fused late:
// their pooled features concatenated, dropout 0.5, one linear layer. Input
// [5, T, H, W]: normalised RGB, then the flow (dx, dy) of each frame to the next.
// Names: "rgb.*" and "flow.*" follow torchvision's mc3_18 (so its weights port to
// the RGB stream with the "rgb." prefix), "fc.*" is the fused head.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> two_stream(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
