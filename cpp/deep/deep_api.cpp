// JS-facing API of the deep-learning engine: describing models and computing the
// logits of one clip, each on a worker thread.
#include "deep/deep_api.h"

#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "torch/deep.h"

namespace fvc {
namespace {

deep::Scale readScale(const Napi::Object& o) {
  deep::Scale s;
  s.width = opts::getNumber(o, "width", 1.0, 1e-3, 16.0);
  s.depth = opts::getInt(o, "depth", 0, 0, 1000);
  return s;
}

Napi::Object describe(Napi::Env env, const deep::ModelDescription& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", d.name);
  o.Set("family", d.family);
  o.Set("description", d.description);
  Napi::Array shape = Napi::Array::New(env, d.inputShape.size());
  for (size_t i = 0; i < d.inputShape.size(); ++i) shape.Set(i, static_cast<double>(d.inputShape[i]));
  o.Set("inputShape", shape);
  o.Set("parameters", static_cast<double>(d.parameters));
  return o;
}

class DescribeWorker : public PromiseWorker {
 public:
  DescribeWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o), numClasses_(opts::getInt(o, "numClasses", 2, 1, 100000)), scale_(readScale(o)) {
    if (opts::has(o, "models")) {
      Napi::Value v = o.Get("models");
      if (!v.IsArray()) throw Error(code::kInvalidArgument, "models: must be an array of names");
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) names_.push_back(a.Get(i).ToString().Utf8Value());
    } else {
      names_ = deep::modelNames();
    }
  }

 protected:
  void Run(const ExecutionProgress&) override {
    for (const auto& n : names_) out_.push_back(deep::describeModel(n, numClasses_, scale_));
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); ++i) a.Set(i, describe(env, out_[i]));
    return a;
  }

 private:
  int numClasses_;
  deep::Scale scale_;
  std::vector<std::string> names_;
  std::vector<deep::ModelDescription> out_;
};

class LogitsWorker : public PromiseWorker {
 public:
  LogitsWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {
    r_.model = opts::getString(o, "model");
    r_.numClasses = opts::getInt(o, "numClasses", 2, 1, 100000);
    r_.scale = readScale(o);
    r_.weights = opts::getString(o, "weights", "");
    r_.input = opts::getString(o, "input");
    r_.seed = static_cast<uint64_t>(opts::getNumber(o, "seed", 0, 0, 9007199254740991.0));
  }

 protected:
  void Run(const ExecutionProgress&) override { out_ = deep::logits(r_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto logits = Napi::Float32Array::New(env, out_.logits.size());
    std::copy(out_.logits.begin(), out_.logits.end(), logits.Data());
    o.Set("logits", logits);
    Napi::Array shape = Napi::Array::New(env, out_.shape.size());
    for (size_t i = 0; i < out_.shape.size(); ++i) shape.Set(i, static_cast<double>(out_.shape[i]));
    o.Set("shape", shape);
    o.Set("loaded", static_cast<double>(out_.loaded));
    Napi::Array head = Napi::Array::New(env, out_.head.size());
    for (size_t i = 0; i < out_.head.size(); ++i) head.Set(i, out_.head[i]);
    o.Set("headReplaced", head);
    return o;
  }

 private:
  deep::LogitsRequest r_;
  deep::LogitsResult out_;
};

Napi::Value DescribeModels(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new DescribeWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value ModelLogits(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new LogitsWorker(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

void registerDeepApi(Napi::Env env, Napi::Object exports) {
  exports.Set("describeModels", Napi::Function::New(env, DescribeModels, "describeModels"));
  exports.Set("modelLogits", Napi::Function::New(env, ModelLogits, "modelLogits"));
}

}  // namespace fvc
