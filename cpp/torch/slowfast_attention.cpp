// 5s slowfast_attention: SlowFast R50 whose lateral connections are gated by channel
// attention (what the fast pathway contributes depends on both pathways' context)
// and whose head pools each pathway with learned attention over positions.
#include "torch/slowfast.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> slowfast_attention(int64_t numClasses, const Scale& scale) {
  SlowFastOptions o{{{4, 1, 1, false}, {1, 8, 5, true}}};
  o.attentionFusion = true;
  o.attentionPool = true;
  return slowFastNetwork(o, numClasses, scale);
}

}  // namespace fvc::deep
