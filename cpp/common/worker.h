#pragma once
// Base of every long native operation: runs Run() on a libuv worker thread,
// resolves a promise with Result(), streams progress events to an optional JS
// callback, and turns any C++ exception into a rejected JS Error with a stable
// `code` — a native failure never aborts the process.
#include <napi.h>

#include <string>
#include <vector>

#include "common/cancel.h"

namespace fvc {

// One named value of a progress event's `data` (or of a result row): a number (a
// non-finite one reaches JS as null) or a boolean.
struct Field {
  std::string name;
  double value = 0;
  bool boolean = false;
};
using Fields = std::vector<Field>;
// `fields` as a JS object.
Napi::Object fieldsObject(Napi::Env env, const Fields& fields);

struct ProgressEvent {
  std::string stage;  // what is being worked on, e.g. "decode"
  double done = 0;
  double total = 0;
  std::string item;  // the file or unit just finished, may be empty
  Fields data;       // a structured row (an epoch's statistics), given to JS as `data`
};

class PromiseWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
 public:
  // options may carry `cancel` (a CancelToken) and `onProgress` (a function).
  PromiseWorker(Napi::Env env, const Napi::Object& options);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run(const ExecutionProgress& progress) = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  const CancelFlag& cancelFlag() const { return cancel_; }
  void Report(const ExecutionProgress& progress, ProgressEvent event) const;

 private:
  void Execute(const ExecutionProgress& progress) final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;
  void OnProgress(const ProgressEvent* data, size_t count) final;

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  CancelFlag cancel_;
  std::string errorCode_;
};

// Start `worker` (heap-allocated; libuv frees it) and return its promise.
inline Napi::Promise Queue(PromiseWorker* worker) {
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace fvc
