#include "common/worker.h"

#include <cmath>

#include <exception>

#include "common/error.h"

namespace fvc {

PromiseWorker::PromiseWorker(Napi::Env env, const Napi::Object& options)
    : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "fvc"),
      deferred_(Napi::Promise::Deferred::New(env)),
      cancel_(CancelToken::FromOptions(options)) {
  if (options.Has("onProgress") && options.Get("onProgress").IsFunction()) {
    onProgress_ = Napi::Persistent(options.Get("onProgress").As<Napi::Function>());
  }
}

void PromiseWorker::Report(const ExecutionProgress& progress, ProgressEvent event) const {
  if (!onProgress_.IsEmpty()) progress.Send(&event, 1);
}

void PromiseWorker::Execute(const ExecutionProgress& progress) {
  try {
    Run(progress);
  } catch (const Error& e) {
    errorCode_ = e.code();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    errorCode_ = code::kNative;
    SetError("out of memory");
  } catch (const std::exception& e) {
    errorCode_ = code::kNative;
    SetError(e.what());
  } catch (...) {
    errorCode_ = code::kNative;
    SetError("unknown native error");
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", code::kNative);
    deferred_.Reject(err.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Error err = Napi::Error::New(env, e.Message());
  err.Set("code", errorCode_.empty() ? code::kNative : errorCode_);
  deferred_.Reject(err.Value());
}

Napi::Object fieldsObject(Napi::Env env, const Fields& fields) {
  Napi::Object o = Napi::Object::New(env);
  for (const Field& f : fields) {
    if (f.boolean) o.Set(f.name, f.value != 0);
    else if (std::isfinite(f.value)) o.Set(f.name, f.value);
    else o.Set(f.name, env.Null());
  }
  return o;
}

void PromiseWorker::OnProgress(const ProgressEvent* data, size_t count) {
  if (onProgress_.IsEmpty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  for (size_t i = 0; i < count; ++i) {
    Napi::Object ev = Napi::Object::New(env);
    ev.Set("stage", data[i].stage);
    ev.Set("done", data[i].done);
    ev.Set("total", data[i].total);
    if (!data[i].item.empty()) ev.Set("item", data[i].item);
    if (!data[i].data.empty()) ev.Set("data", fieldsObject(env, data[i].data));
    // A throwing progress listener must not take the operation down with it.
    napi_value result;
    napi_value arg = ev;
    napi_call_function(env, env.Undefined(), onProgress_.Value(), 1, &arg, &result);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
}

}  // namespace fvc
