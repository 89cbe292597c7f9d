#pragma once
// torchvision's VideoResNet family (torchvision/models/video/resnet.py): r3d_18,
// mc3_18 and r2plus1d_18, with torchvision's module names so its state dicts load
// as they are.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> r3d_18(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> mc3_18(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> r2plus1d_18(int64_t numClasses, const Scale& scale);
// mc3_18 without its head, taking `inChannels` channels: a stream of two_stream.
std::shared_ptr<VideoModel> mc3_18_stream(int64_t inChannels, const Scale& scale);

}  // namespace fvc::deep
