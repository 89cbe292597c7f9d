#include "video/scale_api.h"

#include <optional>

#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "faces/faces_api.h"
#include "video/frame_converter.h"
#include "video/frame_reader.h"
#include "video/video_writer.h"

namespace fvc {
namespace {

class ScaleWorker : public PromiseWorker {
 public:
  ScaleWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        path_(opts::getString(o, "path")),
        output_(opts::getString(o, "output")),
        timeoutMs_(opts::getNumber(o, "timeoutMs", 0, 0, 1e12)),
        threads_(opts::getInt(o, "threads", 1, 0, 256)) {
    resize_.size = opts::getInt(o, "size", 256, 2, 16384);
    if (resize_.size % 2) throw Error(code::kInvalidArgument, "size: must be even (H.264 4:2:0)");
    resize_.interpolation = parseInterpolation(opts::getString(o, "interpolation", "bilinear"));
    encoder_.crf = opts::getInt(o, "crf", 23, 0, 51);
    encoder_.preset = opts::getString(o, "preset", "veryfast");
    if (opts::has(o, "faces")) {
      if (!o.Get("faces").IsObject()) throw Error(code::kInvalidArgument, "faces: must be an object ({ detector, margin, ... })");
      faces_ = readFaceCropOptions(o.Get("faces").As<Napi::Object>());
    }
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    StopCondition stop(cancelFlag(), timeoutMs_);
    VideoInput input(path_, stop, DecoderOptions{threads_});
    AVStream* st = input.stream();
    // Face crops: frames are converted at their own size, then each frame's face square is
    // cut out and resized to size x size.
    const ResizeOptions native{0, false, resize_.interpolation};
    const OutputGeometry source = computeGeometry(input.displayWidth(), input.displayHeight(), faces_ ? native : resize_);
    OutputGeometry geo = source;
    if (faces_) geo = OutputGeometry{resize_.size, resize_.size, resize_.size, resize_.size, 0, 0};
    FrameConverter converter(source, input.rotation(), resize_.interpolation);
    std::optional<FaceTracker> tracker;
    if (faces_) tracker.emplace(*faces_);
    std::vector<uint8_t> frame(faces_ ? static_cast<size_t>(source.width) * source.height * 3 : 0);
    encoder_.width = geo.width;
    encoder_.height = geo.height;
    encoder_.timeBase = st->time_base;
    if (input.frameRate().num > 0) encoder_.frameRate = input.frameRate();
    encoder_.threads = threads_;
    VideoWriter writer(output_, encoder_);
    std::vector<uint8_t> rgb(static_cast<size_t>(geo.width) * geo.height * 3);
    // Source timestamps are kept, so variable frame rate and duration survive.
    ReadStats stats = forEachFrame(input, [&](const AVFrame* f, int64_t pts) {
      if (tracker) {
        converter.convert(f, frame.data());
        const CropSquare square = tracker->next(frame.data(), source.width, source.height);
        cropResize(frame.data(), source.width, source.height, square, resize_.size, resize_.interpolation, rgb.data());
      } else {
        converter.convert(f, rgb.data());
      }
      writer.write(rgb.data(), pts - input.startTicks());
    });
    if (stats.frames == 0) throw Error(code::kDecode, path_ + ": no decodable video frames");
    writer.finish();
    frames_ = stats.frames;
    failed_ = stats.failedPackets;
    width_ = geo.width;
    height_ = geo.height;
    if (tracker) faceFrames_ = tracker->faceFrames();
    Report(progress, {"scale", 1, 1, path_, {}});
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", path_);
    o.Set("output", output_);
    o.Set("frames", static_cast<double>(frames_));
    o.Set("failedPackets", static_cast<double>(failed_));
    o.Set("width", width_);
    o.Set("height", height_);
    if (faces_) o.Set("faceFrames", static_cast<double>(faceFrames_));
    return o;
  }

 private:
  std::string path_, output_;
  double timeoutMs_;
  int threads_;
  ResizeOptions resize_;
  EncoderOptions encoder_;
  std::optional<FaceCropOptions> faces_;
  int64_t frames_ = 0, failed_ = 0, faceFrames_ = 0;
  int width_ = 0, height_ = 0;
};

Napi::Value Start(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new ScaleWorker(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

void registerScaleApi(Napi::Env env, Napi::Object exports) { exports.Set("scaleVideo", Napi::Function::New(env, Start, "scaleVideo")); }

}  // namespace fvc
