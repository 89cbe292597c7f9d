#include "augment/augment_api.h"

#include <opencv2/core.hpp>

#include "augment/spatial_augmenter.h"
#include "augment/temporal_selector.h"
#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "video/frame_converter.h"
#include "video/frame_reader.h"
#include "video/video_writer.h"

namespace fvc {
namespace {

constexpr double kMaxSeed = 9007199254740991.0;  // 2^53 - 1: exact in a JS number

// One augmented copy of one video: decoded at its displayed size, transformed
// frame by frame, re-encoded (the re-compression is itself an augmentation).
class AugmentWorker : public PromiseWorker {
 public:
  AugmentWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        path_(opts::getString(o, "path")),
        output_(opts::getString(o, "output")),
        timeoutMs_(opts::getNumber(o, "timeoutMs", 0, 0, 1e12)),
        threads_(opts::getInt(o, "threads", 1, 0, 256)) {
    spatial_.hflip = opts::getBool(o, "hflip", false);
    spatial_.cropScale = opts::getNumber(o, "cropScale", 1.0, 0.1, 1.0);
    spatial_.cropX = opts::getNumber(o, "cropX", 0.5, 0.0, 1.0);
    spatial_.cropY = opts::getNumber(o, "cropY", 0.5, 0.0, 1.0);
    spatial_.rotateDeg = opts::getNumber(o, "rotateDeg", 0.0, -45.0, 45.0);
    spatial_.brightness = opts::getNumber(o, "brightness", 1.0, 0.0, 4.0);
    spatial_.contrast = opts::getNumber(o, "contrast", 1.0, 0.0, 4.0);
    spatial_.saturation = opts::getNumber(o, "saturation", 1.0, 0.0, 4.0);
    spatial_.hue = opts::getNumber(o, "hue", 0.0, -0.5, 0.5);
    spatial_.blurSigma = opts::getNumber(o, "blurSigma", 0.0, 0.0, 20.0);
    spatial_.noiseSigma = opts::getNumber(o, "noiseSigma", 0.0, 0.0, 100.0);
    uint64_t seed = static_cast<uint64_t>(opts::getNumber(o, "seed", 0, 0, kMaxSeed));
    spatial_.noiseSeed = seed;
    temporal_.seed = seed ^ 0xA5A5A5A5A5A5A5A5ULL;
    temporal_.fps = opts::getNumber(o, "fps", 0.0, 0.0, 1000.0);
    fpsScale_ = opts::getNumber(o, "fpsScale", 0.0, 0.0, 1.0);
    if (temporal_.fps > 0 && fpsScale_ > 0) throw Error(code::kInvalidArgument, "fps, fpsScale: give one, not both");
    temporal_.dropProb = opts::getNumber(o, "dropProb", 0.0, 0.0, 0.9);
    encoder_.crf = opts::getInt(o, "crf", 23, 0, 51);
    encoder_.preset = opts::getString(o, "preset", "veryfast");
    // Found by trying: with macroblock-tree rate control, libx264 (Debian's 164)
    // encoded some of these frame sequences differently from run to run even
    // with one thread and identical input; without it every copy is byte-for-byte
    // reproducible, for a few percent of bitrate.
    encoder_.x264Params = "mbtree=0";
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    StopCondition stop(cancelFlag(), timeoutMs_);
    VideoInput input(path_, stop, DecoderOptions{threads_});
    AVStream* st = input.stream();
    // Native geometry, as displayed; 4:2:0 needs even sides, so an odd last
    // row/column is cropped rather than the picture resampled.
    ResizeOptions native;
    native.size = 0;
    native.letterbox = false;
    OutputGeometry geo = computeGeometry(input.displayWidth(), input.displayHeight(), native);
    FrameConverter converter(geo, input.rotation(), Interpolation::Bilinear);
    width_ = geo.width & ~1;
    height_ = geo.height & ~1;
    if (width_ < 2 || height_ < 2) throw Error(code::kInvalidData, path_ + ": frame too small to augment");

    AVRational rate = input.frameRate().num > 0 ? input.frameRate() : AVRational{30, 1};
    if (fpsScale_ > 0 && fpsScale_ < 1) temporal_.fps = fpsScale_ * av_q2d(rate);
    encoder_.width = width_;
    encoder_.height = height_;
    encoder_.threads = threads_;
    if (temporal_.fps > 0) {
      AVRational out = av_d2q(temporal_.fps, 1001000);
      encoder_.frameRate = out;
      encoder_.timeBase = av_inv_q(out);
    } else {
      encoder_.frameRate = rate;
      encoder_.timeBase = st->time_base;
    }
    VideoWriter writer(output_, encoder_);
    SpatialAugmenter augmenter(spatial_, width_, height_);
    TemporalSelector selector(temporal_);
    cv::Mat full(geo.height, geo.width, CV_8UC3);
    cv::Mat frame(height_, width_, CV_8UC3);
    const double tb = av_q2d(st->time_base);
    int64_t index = 0;
    ReadStats stats = forEachFrame(input, [&](const AVFrame* f, int64_t pts) {
      int64_t rel = pts - input.startTicks();
      int64_t outPts = 0;
      int64_t i = index++;
      if (!selector.keep(rel * tb, rel, &outPts)) return;
      converter.convert(f, full.data);
      full(cv::Rect(0, 0, width_, height_)).copyTo(frame);
      augmenter.apply(frame, i);
      writer.write(frame.data, outPts);
    });
    if (stats.frames == 0) throw Error(code::kDecode, path_ + ": no decodable video frames");
    writer.finish();
    sourceFrames_ = stats.frames;
    frames_ = writer.framesWritten();
    failed_ = stats.failedPackets;
    Report(progress, {"augment", 1, 1, path_, {}});
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", path_);
    o.Set("output", output_);
    o.Set("sourceFrames", static_cast<double>(sourceFrames_));
    o.Set("frames", static_cast<double>(frames_));
    o.Set("failedPackets", static_cast<double>(failed_));
    o.Set("width", width_);
    o.Set("height", height_);
    return o;
  }

 private:
  std::string path_, output_;
  double timeoutMs_;
  int threads_;
  SpatialSpec spatial_;
  TemporalSpec temporal_;
  double fpsScale_ = 0;  // output rate as a fraction of the source's
  EncoderOptions encoder_;
  int64_t sourceFrames_ = 0, frames_ = 0, failed_ = 0;
  int width_ = 0, height_ = 0;
};

Napi::Value Start(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new AugmentWorker(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

void registerAugmentApi(Napi::Env env, Napi::Object exports) { exports.Set("augmentVideo", Napi::Function::New(env, Start, "augmentVideo")); }

}  // namespace fvc
