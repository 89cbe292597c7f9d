#pragma once
// Detectors that look at an image's noise residual rather than its content, trained from
// scratch: a fixed first layer of high-pass filters, then naive_cnn's per-frame CNN, its
// features averaged over time, dropout 0.5 and a linear head.
//   srm_cnn: the three 5x5 SRM kernels of Zhou et al. 2018 (KV/12, KB/4 and the
//     horizontal second-order [1, -2, 1]/2), each summed over R, G and B, outputs clipped
//     to +-3 as DeepfakeBench's SRM layer does. Fixed: not a parameter, not in the state dict.
//   constrained_cnn: Bayar & Stamm's constrained convolution (2016): three learned 5x5
//     prediction-error filters per input channel whose centre is fixed at -1 and whose
//     other weights are renormalised to sum to +1 after every optimiser step.
#include "torch/video_model.h"

namespace fvc::deep {

// The SRM kernels, [3 out, 3 in, 5, 5]: each output's kernel repeated over R, G and B.
torch::Tensor srmKernelsRgb();

std::shared_ptr<VideoModel> srm_cnn(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> constrained_cnn(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
