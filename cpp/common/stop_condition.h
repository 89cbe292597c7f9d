#pragma once
// Cooperative cancellation shared between the JS thread (which flips the flag when
// an AbortSignal fires) and a worker thread (which polls it between units of work
// and from libav's interrupt callback during I/O). Free of N-API so the native
// check driver (cpp/tools/native_check.cpp) links the I/O core without Node.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace fvc {

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// Deadline plus cancel flag, polled by long loops.
class StopCondition {
 public:
  StopCondition(CancelFlag flag, double timeoutMs);
  bool cancelled() const { return flag_ && flag_->load(std::memory_order_relaxed); }
  bool timedOut() const { return hasDeadline_ && std::chrono::steady_clock::now() > deadline_; }
  bool shouldStop() const { return cancelled() || timedOut(); }
  // Throws ERR_ABORTED or ERR_TIMEOUT naming `what` if the work must stop.
  void check(const std::string& what) const;

 private:
  CancelFlag flag_;
  bool hasDeadline_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace fvc
