// JS-facing API of the deep-learning engine: describing models and computing the
// logits of one clip, each on a worker thread.
#include "deep/deep_api.h"

#include <cmath>
#include <type_traits>

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
  o.Set("layout", d.layout);
  Napi::Array shape = Napi::Array::New(env, d.inputShape.size());
  for (size_t i = 0; i < d.inputShape.size(); ++i) shape.Set(i, static_cast<double>(d.inputShape[i]));
  o.Set("inputShape", shape);
  o.Set("parameters", static_cast<double>(d.parameters));
  Napi::Object preset = Napi::Object::New(env);
  preset.Set("numFrames", static_cast<double>(d.inputShape[1]));
  preset.Set("cropSize", static_cast<double>(d.inputShape[2]));
  preset.Set("frameSize", static_cast<double>(d.preset.frameSize));
  preset.Set("minSide", static_cast<double>(d.preset.minSide));
  auto triple = [&](const std::vector<float>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(i, static_cast<double>(v[i]));
    return a;
  };
  preset.Set("mean", triple(d.preset.mean));
  preset.Set("std", triple(d.preset.std));
  o.Set("preset", preset);
  o.Set("embeddingDim", static_cast<double>(d.embeddingDim));
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
    const std::string output = opts::getString(o, "output", "logits");
    if (output != "logits" && output != "embedding")
      throw Error(code::kInvalidArgument, "output: must be 'logits' or 'embedding' (got '" + output + "')");
    r_.embedding = output == "embedding";
    r_.gradients = opts::getString(o, "gradients", "");
    if (opts::has(o, "labels")) {
      if (!o.Get("labels").IsArray()) throw Error(code::kInvalidArgument, "labels: must be an array of class indices");
      Napi::Array a = o.Get("labels").As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value v = a.Get(i);
        if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() != std::floor(v.As<Napi::Number>().DoubleValue()) ||
            v.As<Napi::Number>().DoubleValue() < 0)
          throw Error(code::kInvalidArgument, "labels[" + std::to_string(i) + "]: must be a class index (an integer >= 0)");
        r_.labels.push_back(v.As<Napi::Number>().Int64Value());
      }
    }
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

std::vector<deep::Clip> readClips(const Napi::Object& o, const char* key) {
  if (!opts::has(o, key) || !o.Get(key).IsArray()) throw Error(code::kInvalidArgument, std::string(key) + ": must be an array of {npy, label}");
  Napi::Array a = o.Get(key).As<Napi::Array>();
  std::vector<deep::Clip> clips;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    if (!v.IsObject()) throw Error(code::kInvalidArgument, std::string(key) + "[" + std::to_string(i) + "]: must be {npy, label}");
    Napi::Object c = v.As<Napi::Object>();
    clips.push_back({opts::getString(c, "npy"), opts::getInt(c, "label", 0, 0, 100000), opts::getString(c, "flow", "")});
  }
  return clips;
}

// Three per-channel values (R, G, B), each in [min, max].
std::vector<float> readChannelTriple(const Napi::Object& o, const char* key, double min, double max) {
  if (!opts::has(o, key) || !o.Get(key).IsArray() || o.Get(key).As<Napi::Array>().Length() != 3)
    throw Error(code::kInvalidArgument, std::string(key) + ": must be an array of three numbers (R, G, B), given together with " +
                                            (std::string(key) == "mean" ? "std" : "mean"));
  Napi::Array a = o.Get(key).As<Napi::Array>();
  std::vector<float> out;
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value v = a.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
    if (!std::isfinite(d) || d < min || d > max)
      throw Error(code::kInvalidArgument,
                  std::string(key) + ": each value must be a number between " + std::to_string(min) + " and " + std::to_string(max));
    out.push_back(static_cast<float>(d));
  }
  return out;
}

deep::ClipInput readInput(const Napi::Object& o) {
  deep::ClipInput in;
  in.numFrames = opts::getInt(o, "numFrames", 8, 1, 4096);
  in.cropSize = opts::getInt(o, "cropSize", 112, 8, 4096);
  in.augment = opts::getBool(o, "augment", true);
  // The normalisation weights were trained with, where it is not the architecture's own.
  if (opts::has(o, "mean") || opts::has(o, "std")) {
    in.mean = readChannelTriple(o, "mean", -10, 10);
    in.std = readChannelTriple(o, "std", 1e-6, 10);
  }
  return in;
}

// An epoch's statistics under the names ts/native/binding.ts's NativeEpoch gives them,
// for the progress events and the result alike (NaN, as for an AUC of one class, is null).
Fields epochFields(const deep::EpochStats& e) {
  return {{"epoch", static_cast<double>(e.epoch)},
          {"train_loss", e.trainLoss},
          {"val_loss", e.valLoss},
          {"val_auc", e.valAuc},
          {"val_acc", e.valAcc},
          {"lr", e.lr},
          {"seconds", e.seconds},
          {"data_wait", e.dataWait},
          {"train_seconds", e.trainSeconds},
          {"best", e.best ? 1.0 : 0.0, true}};
}

Fields batchFields(const deep::BatchStats& b) {
  return {{"epoch", static_cast<double>(b.epoch)}, {"clips", static_cast<double>(b.clips)}, {"seconds", b.seconds}, {"waited", b.waited}};
}

class TrainWorker : public PromiseWorker {
 public:
  TrainWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {
    r_.model = opts::getString(o, "model");
    r_.scale = readScale(o);
    r_.numClasses = opts::getInt(o, "numClasses", 2, 2, 100000);
    r_.train = readClips(o, "train");
    r_.val = readClips(o, "val");
    r_.input = readInput(o);
    // The scalar options as deep.h declares them (type, default, range), read by name.
    const deep::TrainRequest d;
#define FVC_READ_OPTION(type, name, fallback, min, max) r_.name = opts::getField(o, #name, d.name, min, max);
    FVC_DEEP_TRAIN_OPTIONS(FVC_READ_OPTION)
#undef FVC_READ_OPTION
    r_.weights = opts::getString(o, "weights", "");
    r_.outDir = opts::getString(o, "outDir");
    r_.resume = opts::getBool(o, "resume", d.resume);
    r_.device = opts::getString(o, "device", d.device);
    r_.seed = static_cast<uint64_t>(opts::getNumber(o, "seed", 0, 0, 9007199254740991.0));
    r_.distributedJob = static_cast<int64_t>(opts::getInt(o, "distributedJob", -1, -1, 2147483647));
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    const CancelFlag& flag = cancelFlag();
    out_ = deep::train(
        r_,
        [&](const deep::EpochStats& e) {
          Report(progress, {"epoch", static_cast<double>(e.epoch), static_cast<double>(r_.epochs), "", epochFields(e)});
        },
        [&] { return flag && flag->load(std::memory_order_relaxed); },
        [&](const deep::BatchStats& b) {
          Report(progress, {"batch", static_cast<double>(b.batch), static_cast<double>(b.batches), "", batchFields(b)});
        });
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Napi::Array epochs = Napi::Array::New(env, out_.epochs.size());
    for (size_t i = 0; i < out_.epochs.size(); ++i) epochs.Set(i, fieldsObject(env, epochFields(out_.epochs[i])));
    o.Set("epochs", epochs);
    o.Set("bestEpoch", out_.bestEpoch);
    o.Set("resumedFrom", out_.resumedFrom);
    o.Set("stoppedEarly", out_.stoppedEarly);
    o.Set("parameters", static_cast<double>(out_.parameters));
    Napi::Array groups = Napi::Array::New(env, out_.groups.size());
    for (size_t i = 0; i < out_.groups.size(); ++i) {
      Napi::Object g = Napi::Object::New(env);
      g.Set("lr", out_.groups[i].lr);
      g.Set("weightDecay", out_.groups[i].weightDecay);
      Napi::Array names = Napi::Array::New(env, out_.groups[i].names.size());
      for (size_t k = 0; k < out_.groups[i].names.size(); ++k) names.Set(k, out_.groups[i].names[k]);
      g.Set("names", names);
      groups.Set(i, g);
    }
    o.Set("paramGroups", groups);
    auto probs = Napi::Float64Array::New(env, out_.valProbs.size());
    std::copy(out_.valProbs.begin(), out_.valProbs.end(), probs.Data());
    o.Set("valProbs", probs);
    return o;
  }

 private:
  deep::TrainRequest r_;
  deep::TrainResult out_;
};

class PredictClipsWorker : public PromiseWorker {
 public:
  PredictClipsWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {
    r_.model = opts::getString(o, "model");
    r_.scale = readScale(o);
    r_.numClasses = opts::getInt(o, "numClasses", 2, 2, 100000);
    r_.checkpoint = opts::getString(o, "checkpoint");
    r_.clips = readClips(o, "clips");
    r_.input = readInput(o);
    r_.input.augment = false;
    r_.batchSize = opts::getInt(o, "batchSize", 8, 1, 65536);
    r_.device = opts::getString(o, "device", "cpu");
    r_.mixedPrecision = opts::getBool(o, "mixedPrecision", true);
  }

 protected:
  void Run(const ExecutionProgress&) override { out_ = deep::predict(r_); }
  Napi::Value Result(Napi::Env env) override {
    auto a = Napi::Float64Array::New(env, out_.size());
    std::copy(out_.begin(), out_.end(), a.Data());
    return a;
  }

 private:
  deep::PredictRequest r_;
  std::vector<float> out_;
};

class ExtractWorker : public PromiseWorker {
 public:
  ExtractWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o) {
    r_.model = opts::getString(o, "model");
    r_.scale = readScale(o);
    r_.numClasses = opts::getInt(o, "numClasses", 2, 1, 100000);
    r_.weights = opts::getString(o, "weights", "");
    r_.checkpoint = opts::getString(o, "checkpoint", "");
    r_.randomInit = opts::getBool(o, "randomInit", false);
    r_.seed = static_cast<uint64_t>(opts::getNumber(o, "seed", 0, 0, 9007199254740991.0));
    r_.clips = readClips(o, "clips");
    r_.input = readInput(o);
    r_.batchSize = opts::getInt(o, "batchSize", 8, 1, 65536);
    r_.device = opts::getString(o, "device", "cpu");
    r_.mixedPrecision = opts::getBool(o, "mixedPrecision", true);
    r_.loaderThreads = opts::getInt(o, "loaderThreads", 2, 1, 256);
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    const CancelFlag& flag = cancelFlag();
    out_ = deep::extract(
        r_,
        [&](int64_t done, int64_t total) {
          Report(progress, {"extract", static_cast<double>(done), static_cast<double>(total), "", {}});
        },
        [&] { return flag && flag->load(std::memory_order_relaxed); });
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto values = Napi::Float32Array::New(env, out_.values.size());
    std::copy(out_.values.begin(), out_.values.end(), values.Data());
    o.Set("values", values);
    o.Set("dim", static_cast<double>(out_.dim));
    o.Set("loaded", static_cast<double>(out_.loaded));
    return o;
  }

 private:
  deep::ExtractRequest r_;
  deep::ExtractResult out_;
};

Napi::Value ExtractFeatures(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new ExtractWorker(info.Env(), opts::argObject(info, 0))); });
}

class FlowWorker : public PromiseWorker {
 public:
  FlowWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o), frames_(opts::getString(o, "frames")), out_(opts::getString(o, "out")), method_(opts::getString(o, "method", "dis")) {}

 protected:
  void Run(const ExecutionProgress&) override { deep::computeFlow(frames_, out_, method_); }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, out_); }

 private:
  std::string frames_, out_, method_;
};

Napi::Value ComputeFlow(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new FlowWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value TrainDeep(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new TrainWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value PredictClips(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new PredictClipsWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value DescribeModels(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new DescribeWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value ModelLogits(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new LogitsWorker(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

// The training request's scalar options as deep.h declares them, for the test that
// holds ts/native/deep-train-fields.ts equal to them: [{ name, type, default, min, max }].
Napi::Value DeepTrainFields(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const deep::TrainRequest d;
  Napi::Array fields = Napi::Array::New(env);
  auto add = [&](const char* name, const char* type, Napi::Value fallback, double min, double max) {
    Napi::Object f = Napi::Object::New(env);
    f.Set("name", name);
    f.Set("type", type);
    f.Set("default", fallback);
    f.Set("min", min);
    f.Set("max", max);
    fields.Set(fields.Length(), f);
  };
  auto value = [&](auto v) -> Napi::Value {
    if constexpr (std::is_same_v<decltype(v), bool>) return Napi::Boolean::New(env, v);
    else return Napi::Number::New(env, static_cast<double>(v));
  };
#define FVC_DESCRIBE_OPTION(type, name, fallback, min, max) add(#name, opts::fieldType(d.name), value(d.name), min, max);
  FVC_DEEP_TRAIN_OPTIONS(FVC_DESCRIBE_OPTION)
#undef FVC_DESCRIBE_OPTION
  return fields;
}

void registerDeepApi(Napi::Env env, Napi::Object exports) {
  exports.Set("deepTrainFields", Napi::Function::New(env, DeepTrainFields, "deepTrainFields"));
  exports.Set("describeModels", Napi::Function::New(env, DescribeModels, "describeModels"));
  exports.Set("modelLogits", Napi::Function::New(env, ModelLogits, "modelLogits"));
  exports.Set("trainDeep", Napi::Function::New(env, TrainDeep, "trainDeep"));
  exports.Set("predictClips", Napi::Function::New(env, PredictClips, "predictClips"));
  exports.Set("extractFeatures", Napi::Function::New(env, ExtractFeatures, "extractFeatures"));
  exports.Set("computeFlow", Napi::Function::New(env, ComputeFlow, "computeFlow"));
}

}  // namespace fvc
