#include "video/video_api.h"

#include <sys/stat.h>

#include <cstdio>
#include <optional>

#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "faces/faces_api.h"
#include "io/npy.h"
#include "io/png.h"
#include "video/frame_sampler.h"
#include "video/probe.h"

namespace fvc {
namespace {

Napi::Array numberArray(Napi::Env env, const std::vector<double>& values) {
  Napi::Array a = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) a.Set(i, values[i]);
  return a;
}

Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array a = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) a.Set(i, values[i]);
  return a;
}

class ProbeWorker : public PromiseWorker {
 public:
  ProbeWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o), path_(opts::getString(o, "path")), timeoutMs_(opts::getNumber(o, "timeoutMs", 0, 0, 1e12)) {
    options_.exactFrameCount = opts::getBool(o, "exact", false);
  }

 protected:
  void Run(const ExecutionProgress&) override {
    StopCondition stop(cancelFlag(), timeoutMs_);
    VideoInput input(path_, stop, DecoderOptions{1});
    r_ = probeVideo(input, options_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", r_.path);
    o.Set("container", r_.container);
    o.Set("codec", r_.codec);
    o.Set("profile", r_.profile);
    o.Set("pixelFormat", r_.pixelFormat);
    o.Set("bitDepth", r_.bitDepth);
    o.Set("colorRange", r_.colorRange);
    o.Set("colorSpace", r_.colorSpace);
    o.Set("width", r_.width);
    o.Set("height", r_.height);
    o.Set("displayWidth", r_.displayWidth);
    o.Set("displayHeight", r_.displayHeight);
    o.Set("rotation", r_.rotation);
    o.Set("avgFps", r_.avgFps);
    o.Set("realFps", r_.realFps);
    o.Set("startTime", r_.startTime);
    o.Set("duration", r_.duration);
    o.Set("frameCount", static_cast<double>(r_.frameCount));
    o.Set("frameCountExact", r_.frameCountExact);
    o.Set("bitrate", static_cast<double>(r_.bitrate));
    o.Set("streamBitrate", static_cast<double>(r_.streamBitrate));
    o.Set("hasAudio", r_.hasAudio);
    o.Set("keyframes", numberArray(env, r_.keyframes));
    o.Set("keyframeSource", r_.keyframeSource);
    return o;
  }

 private:
  std::string path_;
  double timeoutMs_;
  ProbeOptions options_;
  ProbeResult r_;
};

class SampleFramesWorker : public PromiseWorker {
 public:
  SampleFramesWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        path_(opts::getString(o, "path")),
        timeoutMs_(opts::getNumber(o, "timeoutMs", 0, 0, 1e12)),
        threads_(opts::getInt(o, "threads", 0, 0, 256)),
        npyPath_(opts::getString(o, "npyPath", "")),
        pngDir_(opts::getString(o, "pngDir", "")),
        returnData_(opts::getBool(o, "returnData", true)) {
    options_.count = opts::getInt(o, "count", 8, 1, 100000);
    options_.resize.size = opts::getInt(o, "size", 256, 0, 16384);
    options_.resize.letterbox = opts::getBool(o, "letterbox", true);
    options_.resize.interpolation = parseInterpolation(opts::getString(o, "interpolation", "bilinear"));
    options_.skipNonReference = opts::getBool(o, "skipNonReference", true);
    options_.seek = opts::getBool(o, "seek", true);
    options_.adjacent = opts::getBool(o, "adjacent", false);
    if (options_.resize.letterbox && options_.resize.size == 0) throw Error(code::kInvalidArgument, "size: 0 (native size) needs letterbox: false");
    if (opts::has(o, "faces")) {
      if (!o.Get("faces").IsObject()) throw Error(code::kInvalidArgument, "faces: must be an object ({ detector, margin, ... })");
      if (options_.resize.size == 0) throw Error(code::kInvalidArgument, "size: face crops need a crop size (not 0)");
      if (options_.adjacent) throw Error(code::kInvalidArgument, "faces: not available with adjacent frames");
      faces_ = readFaceCropOptions(o.Get("faces").As<Napi::Object>());
      // Faces are found in the frames at their own size; the crops are then resized.
      cropSize_ = options_.resize.size;
      options_.resize.size = 0;
      options_.resize.letterbox = false;
    }
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    StopCondition stop(cancelFlag(), timeoutMs_);
    VideoInput input(path_, stop, DecoderOptions{threads_});
    r_ = sampleFrames(input, options_);
    Report(progress, {"decode", double(r_.count), double(r_.count), path_, {}});
    if (faces_) {
      FaceCropResult crops = cropFaces(r_.data.data(), r_.count, r_.width, r_.height, *faces_, cropSize_, options_.resize.interpolation);
      r_.data = std::move(crops.data);
      r_.width = r_.height = cropSize_;
      squares_ = std::move(crops.squares);
      faceFrames_ = crops.faceFrames;
    }
    const size_t frameBytes = static_cast<size_t>(r_.width) * r_.height * 3;
    if (!npyPath_.empty()) writeNpy(npyPath_, NpyType::Uint8, {r_.count, r_.height, r_.width, 3}, r_.data.data());
    if (!pngDir_.empty()) {
      ::mkdir(pngDir_.c_str(), 0777);
      for (int i = 0; i < r_.count; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "/frame_%04d.png", i);
        writePngRgb(pngDir_ + name, r_.data.data() + frameBytes * i, r_.width, r_.height);
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", path_);
    o.Set("count", r_.count);
    o.Set("width", r_.width);
    o.Set("height", r_.height);
    if (returnData_) {
      auto* holder = new std::vector<uint8_t>(std::move(r_.data));
      o.Set("data", Napi::Buffer<uint8_t>::NewOrCopy(
                        env, holder->data(), holder->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* h) { delete h; }, holder));
    }
    o.Set("timestamps", numberArray(env, r_.timestamps));
    o.Set("targets", numberArray(env, r_.targets));
    o.Set("warnings", stringArray(env, r_.warnings));
    o.Set("seeks", r_.seeks);
    o.Set("decodedFrames", static_cast<double>(r_.decodedFrames));
    o.Set("failedPackets", static_cast<double>(r_.failedPackets));
    Napi::Array damaged = Napi::Array::New(env, r_.damaged.size());
    for (size_t i = 0; i < r_.damaged.size(); ++i) damaged.Set(i, Napi::Boolean::New(env, r_.damaged[i] != 0));
    o.Set("damaged", damaged);
    o.Set("decoderErrors", static_cast<double>(r_.decoderErrors));
    o.Set("keyframeSource", r_.keyframeSource);
    Napi::Object g = Napi::Object::New(env);
    g.Set("width", r_.geometry.width);
    g.Set("height", r_.geometry.height);
    g.Set("contentWidth", r_.geometry.contentWidth);
    g.Set("contentHeight", r_.geometry.contentHeight);
    g.Set("offsetX", r_.geometry.offsetX);
    g.Set("offsetY", r_.geometry.offsetY);
    o.Set("geometry", g);
    if (faces_) {
      o.Set("faceFrames", faceFrames_);
      Napi::Array squares = Napi::Array::New(env, squares_.size());
      for (size_t i = 0; i < squares_.size(); ++i) squares.Set(i, cropSquareObject(env, squares_[i]));
      o.Set("faceSquares", squares);
    }
    return o;
  }

 private:
  std::string path_;
  double timeoutMs_;
  int threads_;
  std::string npyPath_, pngDir_;
  bool returnData_;
  SampleOptions options_;
  SampledFrames r_;
  std::optional<FaceCropOptions> faces_;
  int cropSize_ = 0, faceFrames_ = 0;
  std::vector<CropSquare> squares_;
};

template <typename W>
Napi::Value start(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new W(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

void registerVideoApi(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, start<ProbeWorker>, "probe"));
  exports.Set("sampleFrames", Napi::Function::New(env, start<SampleFramesWorker>, "sampleFrames"));
}

}  // namespace fvc
