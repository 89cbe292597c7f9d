// 5t slowfast_multiscale: SlowFast with three temporal rates, T/4 (slow, full width),
// T/2 (1/4 width) and T (1/8 width), both faster pathways fused laterally into the slow one.
#include "torch/slowfast.h"

namespace fvc::deep {

std::shared_ptr<VideoModel> slowfast_multiscale(int64_t numClasses, const Scale& scale) {
  return slowFastNetwork({{{4, 1, 1, false}, {2, 4, 3, true}, {1, 8, 5, true}}}, numClasses, scale);
}

}  // namespace fvc::deep
