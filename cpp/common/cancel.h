#pragma once
// Cooperative cancellation shared between the JS thread (which flips the flag when
// an AbortSignal fires) and a worker thread (which polls it between units of work
// and from libav's interrupt callback during I/O).
#include <napi.h>

#include <atomic>
#include <chrono>
#include <memory>

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

// JS-visible handle: `new CancelToken()`, `token.cancel()`. The binding module
// wires an AbortSignal to cancel() and passes the token into native calls.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CancelToken(const Napi::CallbackInfo& info);
  const CancelFlag& flag() const { return flag_; }
  // The flag of the token found at options[key], or a fresh never-set flag.
  static CancelFlag FromOptions(const Napi::Object& options, const char* key = "cancel");

 private:
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value IsCancelled(const Napi::CallbackInfo& info);
  CancelFlag flag_;
};

}  // namespace fvc
