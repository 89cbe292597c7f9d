// JS-facing API of data-parallel training's rendezvous (torch/distributed.h): joining
// it, and rank 0 handing fold jobs to the other ranks. The jobs themselves run through
// trainDeep with `distributedJob`.
#include "deep/distributed_api.h"

#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "torch/distributed.h"

namespace fvc {
namespace {

Napi::Array backendArray(Napi::Env env) {
  const auto names = deep::dist::backends();
  Napi::Array a = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) a.Set(i, names[i]);
  return a;
}

// Joining waits for every rank (up to the timeout), so it runs off the JS thread.
class InitWorker : public PromiseWorker {
 public:
  InitWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {
    s_.worldSize = opts::getInt(o, "worldSize", 1, 1, 65536);
    s_.rank = opts::getInt(o, "rank", 0, 0, 65535);
    s_.localRank = opts::getInt(o, "localRank", 0, 0, 65535);
    s_.address = opts::getString(o, "address");
    s_.port = opts::getInt(o, "port", 29500, 1, 65535);
    s_.timeoutSeconds = opts::getNumber(o, "timeoutSeconds", 1800, 0.1, 1e7);
    if (s_.rank >= s_.worldSize)
      throw Error(code::kInvalidArgument, "rank: " + std::to_string(s_.rank) + " is outside 0.." + std::to_string(s_.worldSize - 1));
  }

 protected:
  void Run(const ExecutionProgress&) override { deep::dist::init(s_); }
  Napi::Value Result(Napi::Env env) override { return backendArray(env); }

 private:
  deep::dist::Settings s_;
};

// A rank other than 0 waits here between jobs, for as long as rank 0 lives.
class NextWorker : public PromiseWorker {
 public:
  NextWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {}

 protected:
  void Run(const ExecutionProgress&) override {
    const CancelFlag& flag = cancelFlag();
    job_ = deep::dist::next([&] { return flag && flag->load(std::memory_order_relaxed); });
  }
  Napi::Value Result(Napi::Env env) override {
    if (!job_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("job", static_cast<double>(job_->first));
    o.Set("request", job_->second);
    return o;
  }

 private:
  std::optional<std::pair<int64_t, std::string>> job_;
};

class FinishWorker : public PromiseWorker {
 public:
  FinishWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o), waitSeconds_(opts::getNumber(o, "waitSeconds", 60, 0, 1e7)) {}

 protected:
  void Run(const ExecutionProgress&) override { deep::dist::finish(waitSeconds_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  double waitSeconds_;
};

Napi::Value DistributedInit(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new InitWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value DistributedNext(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new NextWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value DistributedFinish(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new FinishWorker(info.Env(), opts::argObject(info, 0))); });
}

// Rank 0: a job's request (JSON text) for every other rank; returns the job's number.
Napi::Value DistributedPublish(const Napi::CallbackInfo& info) {
  return opts::guarded(
      info.Env(),
      [&]() -> Napi::Value {
        if (info.Length() < 1 || !info[0].IsString()) throw Error(code::kInvalidArgument, "distributedPublish: the job must be a string");
        return Napi::Number::New(info.Env(), static_cast<double>(deep::dist::publish(info[0].As<Napi::String>().Utf8Value())));
      },
      code::kDistributed);
}

// Rank 0: a job that ended here before its process group formed (see dist::abandon).
Napi::Value DistributedAbandon(const Napi::CallbackInfo& info) {
  return opts::guarded(
      info.Env(),
      [&]() -> Napi::Value {
        if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString())
          throw Error(code::kInvalidArgument, "distributedAbandon: expected (job number, reason)");
        deep::dist::abandon(info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::String>().Utf8Value());
        return info.Env().Undefined();
      },
      code::kDistributed);
}

Napi::Value DistributedBackends(const Napi::CallbackInfo& info) { return backendArray(info.Env()); }

}  // namespace

void registerDistributedApi(Napi::Env env, Napi::Object exports) {
  exports.Set("distributedBackends", Napi::Function::New(env, DistributedBackends, "distributedBackends"));
  exports.Set("distributedInit", Napi::Function::New(env, DistributedInit, "distributedInit"));
  exports.Set("distributedPublish", Napi::Function::New(env, DistributedPublish, "distributedPublish"));
  exports.Set("distributedNext", Napi::Function::New(env, DistributedNext, "distributedNext"));
  exports.Set("distributedFinish", Napi::Function::New(env, DistributedFinish, "distributedFinish"));
  exports.Set("distributedAbandon", Napi::Function::New(env, DistributedAbandon, "distributedAbandon"));
}

}  // namespace fvc
