#pragma once
// 5c naive_cnn: a small 2D CNN applied to every frame, features averaged over time,
// dropout 0.5 and a linear head, as the seed's baseline CNN.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> naive_cnn(int64_t numClasses, const Scale& scale);

// The per-frame CNN naive_cnn and variable_ar_cnn share: conv-BN-ReLU-maxpool stages
// (32, 64, 128, 256 channels before scaling), fan-out Kaiming init. *channels gets the
// last stage's width.
torch::nn::Sequential frameCnn(const Scale& scale, int64_t* channels);

}  // namespace fvc::deep
