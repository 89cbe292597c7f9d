#include "features/features_api.h"

#include "common/options.h"
#include "common/worker.h"
#include "features/handcrafted.h"
#include "video/frame_sampler.h"
#include "video/probe.h"

namespace fvc {
namespace {

class HandcraftedWorker : public PromiseWorker {
 public:
  HandcraftedWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        path_(opts::getString(o, "path")),
        timeoutMs_(opts::getNumber(o, "timeoutMs", 0, 0, 1e12)),
        threads_(opts::getInt(o, "threads", 1, 0, 256)) {
    sample_.count = opts::getInt(o, "numFrames", 8, 1, 10000);
    // Native resolution, no bars: padding would pollute every statistic.
    sample_.resize.size = 0;
    sample_.resize.letterbox = false;
    sample_.adjacent = true;
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    StopCondition stop(cancelFlag(), timeoutMs_);
    VideoInput input(path_, stop, DecoderOptions{threads_});
    ProbeResult probe = probeVideo(input, ProbeOptions{});
    SampledFrames frames = sampleFrames(input, sample_);
    warnings_ = std::move(frames.warnings);
    // Frames come in pairs (sample, successor): a pair counts as damaged when either is.
    count_ = frames.count / 2;
    for (int i = 0; i < count_; ++i) damagedFrames_ += (frames.damaged[2 * i] || frames.damaged[2 * i + 1]) ? 1 : 0;
    decoderErrors_ = frames.decoderErrors;
    features_ = computeHandcraftedFeatures(frames.data.data(), frames.count / 2, frames.width, frames.height, probe);
    Report(progress, {"features", 1, 1, path_, {}});
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", path_);
    Napi::Array values = Napi::Array::New(env, features_.values.size());
    for (size_t i = 0; i < features_.values.size(); ++i) {
      const auto& v = features_.values[i];
      values.Set(i, v ? Napi::Value(Napi::Number::New(env, *v)) : env.Null());
    }
    o.Set("values", values);
    o.Set("frames", count_);
    o.Set("damagedFrames", damagedFrames_);
    o.Set("decoderErrors", static_cast<double>(decoderErrors_));
    Napi::Array w = Napi::Array::New(env, warnings_.size());
    for (size_t i = 0; i < warnings_.size(); ++i) w.Set(i, warnings_[i]);
    o.Set("warnings", w);
    return o;
  }

 private:
  std::string path_;
  double timeoutMs_;
  int threads_;
  SampleOptions sample_;
  FeatureVector features_;
  std::vector<std::string> warnings_;
  int count_ = 0, damagedFrames_ = 0;
  int64_t decoderErrors_ = 0;
};

Napi::Value Start(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new HandcraftedWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value Names(const Napi::CallbackInfo& info) {
  const auto& names = handcraftedFeatureNames();
  Napi::Array a = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); ++i) a.Set(i, names[i]);
  return a;
}

}  // namespace

void registerFeaturesApi(Napi::Env env, Napi::Object exports) {
  exports.Set("handcraftedFeatures", Napi::Function::New(env, Start, "handcraftedFeatures"));
  exports.Set("handcraftedFeatureNames", Napi::Function::New(env, Names, "handcraftedFeatureNames"));
  exports.Set("handcraftedSchemaVersion", Napi::Number::New(env, kHandcraftedSchemaVersion));
}

}  // namespace fvc
