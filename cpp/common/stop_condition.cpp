#include "common/stop_condition.h"

#include "common/error.h"

namespace fvc {

StopCondition::StopCondition(CancelFlag flag, double timeoutMs) : flag_(std::move(flag)) {
  if (timeoutMs > 0) {
    hasDeadline_ = true;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeoutMs * 1000.0));
  }
}

void StopCondition::check(const std::string& what) const {
  if (cancelled()) throw Error(code::kAborted, what + ": operation was aborted");
  if (timedOut()) throw Error(code::kTimeout, what + ": operation timed out");
}

}  // namespace fvc
