#include "faces/faces_api.h"

#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"
#include "io/npy.h"
#include "io/read_file.h"

namespace fvc {

FaceCropOptions readFaceCropOptions(const Napi::Object& o) {
  FaceCropOptions f;
  f.detector.detector = opts::getString(o, "detector", "hog");
  f.detector.model = opts::getString(o, "model", "");
  f.detector.upsample = opts::getInt(o, "upsample", 1, 0, 4);
  f.detector.detectSize = opts::getInt(o, "detectSize", 640, 0, 16384);
  f.detector.minScore = opts::getNumber(o, "minScore", 0, -10, 10);
  f.margin = opts::getNumber(o, "margin", 1.3, 1, 4);
  // Fail at the request, not in the worker: an unknown detector or a missing model file.
  makeFaceDetector(f.detector);
  return f;
}

Napi::Object cropSquareObject(Napi::Env env, const CropSquare& s) {
  Napi::Object q = Napi::Object::New(env);
  q.Set("x", s.x);
  q.Set("y", s.y);
  q.Set("side", s.side);
  q.Set("face", s.face);
  return q;
}

namespace {

class DetectFacesWorker : public PromiseWorker {
 public:
  DetectFacesWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env, o), frames_(opts::getString(o, "frames")) {
    if (!opts::has(o, "faces") || !o.Get("faces").IsObject())
      throw Error(code::kInvalidArgument, "faces: an object with the detector's settings is required");
    options_ = readFaceCropOptions(o.Get("faces").As<Napi::Object>());
  }

 protected:
  void Run(const ExecutionProgress& progress) override {
    const std::string bytes = readRegularFile(frames_);
    const NpyLayout layout = parseNpyLayout(frames_, bytes, "|u1", "uint8", 1);
    if (layout.shape.size() != 4 || layout.shape[3] != 3) throw Error(code::kInvalidData, frames_ + ": expected uint8 frames [N, H, W, 3] (RGB)");
    const int n = int(layout.shape[0]), h = int(layout.shape[1]), w = int(layout.shape[2]);
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data() + layout.dataStart);
    // One detection per frame: the tracker keeps what it found.
    FaceTracker tracker(options_);
    const size_t frameBytes = size_t(w) * h * 3;
    StopCondition stop(cancelFlag(), 0);
    for (int i = 0; i < n; ++i) {
      stop.check(frames_);
      squares_.push_back(tracker.next(data + frameBytes * i, w, h));
      faces_.push_back(tracker.lastFaces());
      Report(progress, {"faces", double(i + 1), double(n), frames_, {}});
    }
    faceFrames_ = tracker.faceFrames();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Napi::Array faces = Napi::Array::New(env, faces_.size()), squares = Napi::Array::New(env, squares_.size());
    for (size_t i = 0; i < faces_.size(); ++i) {
      Napi::Array frame = Napi::Array::New(env, faces_[i].size());
      for (size_t k = 0; k < faces_[i].size(); ++k) {
        const FaceBox& b = faces_[i][k];
        Napi::Object box = Napi::Object::New(env);
        box.Set("x", b.x);
        box.Set("y", b.y);
        box.Set("width", b.w);
        box.Set("height", b.h);
        box.Set("score", b.score);
        frame.Set(k, box);
      }
      faces.Set(i, frame);
      squares.Set(i, cropSquareObject(env, squares_[i]));
    }
    o.Set("faces", faces);
    o.Set("squares", squares);
    o.Set("faceFrames", faceFrames_);
    return o;
  }

 private:
  std::string frames_;
  FaceCropOptions options_;
  std::vector<std::vector<FaceBox>> faces_;
  std::vector<CropSquare> squares_;
  int faceFrames_ = 0;
};

Napi::Value Start(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new DetectFacesWorker(info.Env(), opts::argObject(info, 0))); });
}

}  // namespace

void registerFacesApi(Napi::Env env, Napi::Object exports) {
  exports.Set("detectFaces", Napi::Function::New(env, Start, "detectFaces"));
  exports.Set("hasHogFaceDetector", Napi::Boolean::New(env, haveHogFaceDetector()));
}

}  // namespace fvc
