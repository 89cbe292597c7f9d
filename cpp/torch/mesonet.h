#pragma once
// MesoNet (Afchar et al., WIFS 2018): Meso-4 and MesoInception-4, compact CNNs for the
// mesoscopic traces face forgeries leave, trained from scratch. Each frame goes through
// the network; the flattened features are averaged over time before the head, as 5c's.
// The layout is the authors' Keras code (DariusAf/MesoNet classifiers.py): conv biases,
// ReLU before batch norm, one batch norm per block, ReLUs inside the inception branches,
// Keras' batch-norm momentum and epsilon, Glorot-uniform kernels. DeepfakeBench's port
// differs (no conv biases, shared batch norms, no inception ReLUs) and is not followed.
// Trainable parameters at 2 classes: Meso-4 27,994, MesoInception-4 28,632 (27,977 and
// 28,615 at the authors' one sigmoid output).
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> meso4(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> meso_inception4(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
