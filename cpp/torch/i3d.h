#pragma once
// 5o i3d: PyTorchVideo's i3d_r50, the inflated 3D ResNet-50 (Carreira & Zisserman),
// with PyTorchVideo's module names ("blocks.<i>...").
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> i3d_r50(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
