#pragma once
// trace_cnn: a small forensic network trained from scratch that compares local traces
// with their surroundings rather than recognising content. A manipulated region is
// "different from the rest": its noise residual, its colour over time or its change
// between adjacent frames does not match the frame, the clip or the next frame.
//   - RGB and the three fixed SRM residuals (srm_cnn's kernels, clipped to +-3) through
//     two 3x3 convolutions (c1), the second with stride 2;
//   - the log of their local energy over 16 px cells, as it is, relative to the frame's
//     mean and relative to the clip's mean at that cell, through two conv-BN-ReLU blocks
//     (c2), summarised by the spread and the maximum over the frame, averaged over time;
//   - each 16 px cell's colour against the clip's mean colour there, and the spread over
//     time of the frame-relative energy;
//   - frames come in adjacent pairs (ClipLayout::RgbPairs): each pair's difference per
//     8 px cell, less the frame's median, and its log mean magnitude through two 3x3
//     convolutions (pd), the maximum over the frame and over the pairs;
//   - dropout 0.1 and a linear head (fc).
// Width 8 by default (scale.width multiplies it): 10,880 parameters at 2 classes.
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> trace_cnn(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
