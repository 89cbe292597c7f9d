#pragma once
// 5r slowfast: PyTorchVideo's slowfast_r50 (Feichtenhofer et al., 8x8, alpha 4,
// beta 1/8) with its module names, plus the network 5s and 5t vary: attention
// fusion and pooling (slowfast_attention.cpp), more than two rates
// (slowfast_multiscale.cpp).
//
// Input: one clip at the fastest rate, [B, 3, T, H, W]; each pathway takes T / its
// frame divisor frames from it as PyTorchVideo's PackPathway does (slowFrames), so
// T must be a multiple of the largest divisor (4).
#include "torch/video_model.h"

namespace fvc::deep {

struct Pathway {
  int64_t frameDivisor;  // 1: every frame; 4: the slow pathway (alpha)
  int64_t widthDivisor;  // channels relative to the slow pathway (1 / beta)
  int64_t stemKernelT;   // temporal size of the stem convolution
  bool temporalEarly;    // temporal conv_a in res2 and res3 too (fast pathways); the slow one starts at res4
};

struct SlowFastOptions {
  std::vector<Pathway> pathways;  // [0] is the slow pathway, which the others fuse into
  bool attentionFusion = false;   // lateral features gated by channel attention before concatenation
  bool attentionPool = false;     // learned softmax weights over positions instead of the average
};

std::shared_ptr<VideoModel> slowFastNetwork(const SlowFastOptions& options, int64_t numClasses, const Scale& scale);

std::shared_ptr<VideoModel> slowfast_r50(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> slowfast_attention(int64_t numClasses, const Scale& scale);
std::shared_ptr<VideoModel> slowfast_multiscale(int64_t numClasses, const Scale& scale);

}  // namespace fvc::deep
