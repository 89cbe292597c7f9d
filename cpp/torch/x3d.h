#pragma once
// 5q x3d: PyTorchVideo's X3D-XS, -S and -M (Feichtenhofer, 2020) with its module
// names. The three share one network (3.79M parameters at 400 classes) and differ
// in the clip they are fed: 4 frames at 160 px, 13 at 160, 16 at 224.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> x3d(int64_t numClasses, const Scale& scale);

// PyTorchVideo's round_width (layers/utils.py): width * multiplier to the nearest
// multiple of divisor, at least min_width, never 10% below the exact value.
int64_t roundWidth(double width, double multiplier, int64_t minWidth = 8, int64_t divisor = 8);

}  // namespace fvc::deep
