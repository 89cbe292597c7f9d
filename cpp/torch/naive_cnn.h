#pragma once
// 5c naive_cnn: a small 2D CNN applied to every frame, features averaged over time,
// dropout 0.5 and a linear head, as the seed's baseline CNN.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> naive_cnn(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
