#pragma once
// The JS side of cancellation: a token wrapping the flag a StopCondition polls.
#include <napi.h>

#include "common/stop_condition.h"

namespace fvc {

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
