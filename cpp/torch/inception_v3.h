#pragma once
// 5d pretrained_inception: torchvision's Inception v3 applied to every frame, its
// pooled 2048-d features averaged over time, dropout 0.5 and a linear head.
// Module names are torchvision's (Conv2d_1a_3x3.conv, Mixed_5b.branch1x1.bn, fc, ...),
// so torchvision's state dict loads unchanged; its AuxLogits tensors are accepted
// and left unused (the auxiliary head only helps ImageNet training).
#include "torch/video_model.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> inception_v3(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
