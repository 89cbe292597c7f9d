#include "faces/face_detector.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "common/error.h"

#ifdef FVC_HAVE_DLIB
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#endif

namespace fvc {

std::vector<FaceBox> FaceDetector::detect(const uint8_t* rgb, int width, int height) {
  const int longer = std::max(width, height);
  if (detectSize_ <= 0 || longer <= detectSize_) return detectAtSize(rgb, width, height);
  const double s = double(detectSize_) / longer;
  const int w = std::max(1, int(std::lround(width * s))), h = std::max(1, int(std::lround(height * s)));
  cv::Mat src(height, width, CV_8UC3, const_cast<uint8_t*>(rgb)), small;
  cv::resize(src, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  std::vector<FaceBox> faces = detectAtSize(small.data, w, h);
  const double back = double(width) / w;
  for (FaceBox& f : faces) {
    f.x *= back;
    f.y *= back;
    f.w *= back;
    f.h *= back;
  }
  return faces;
}

namespace {

#ifdef FVC_HAVE_DLIB
class HogFaceDetector : public FaceDetector {
 public:
  explicit HogFaceDetector(const FaceDetectorOptions& o) : detector_(prototype()), upsample_(o.upsample), threshold_(o.minScore) {
    detectSize_ = o.detectSize;
  }

 protected:
  // As dlib's Python `detector(img, upsample)`: the RGB image doubled `upsample` times
  // with pyramid_up, detected, and each box mapped back and rounded.
  std::vector<FaceBox> detectAtSize(const uint8_t* rgb, int width, int height) override {
    dlib::array2d<dlib::rgb_pixel> img(height, width);
    for (int y = 0; y < height; ++y) {
      const uint8_t* row = rgb + size_t(y) * width * 3;
      for (int x = 0; x < width; ++x) img[y][x] = dlib::rgb_pixel(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
    }
    dlib::pyramid_down<2> pyr;
    for (int i = 0; i < upsample_; ++i) dlib::pyramid_up(img, pyr);
    std::vector<dlib::rect_detection> found;
    detector_(img, found, threshold_);
    std::vector<FaceBox> out;
    out.reserve(found.size());
    for (const dlib::rect_detection& d : found) {
      const dlib::rectangle r = upsample_ > 0 ? dlib::rectangle(pyr.rect_down(d.rect, upsample_)) : d.rect;
      out.push_back({double(r.left()), double(r.top()), double(r.width()), double(r.height()), d.detection_confidence});
    }
    return out;
  }

 private:
  // Deserialising the detector takes tens of milliseconds: each job copies one made once.
  static const dlib::frontal_face_detector& prototype() {
    static const dlib::frontal_face_detector d = dlib::get_frontal_face_detector();
    return d;
  }

  dlib::frontal_face_detector detector_;
  int upsample_;
  double threshold_;
};
#endif

class YuNetFaceDetector : public FaceDetector {
 public:
  explicit YuNetFaceDetector(const FaceDetectorOptions& o) : minScore_(o.minScore > 0 ? o.minScore : 0.9) {
    detectSize_ = o.detectSize;
    struct stat st {};
    if (o.model.empty()) throw Error(code::kInvalidArgument, "faces.model: the yunet detector needs its ONNX file (face_detection_yunet_*.onnx)");
    if (::stat(o.model.c_str(), &st) != 0) throw Error(code::kFileNotFound, o.model + ": no such file (faces.model, the YuNet ONNX file)");
    if (!S_ISREG(st.st_mode)) throw Error(code::kInvalidArgument, o.model + ": not a regular file (faces.model)");
    try {
      net_ = cv::FaceDetectorYN::create(o.model, "", cv::Size(320, 320), float(minScore_), 0.3f, 5000);
    } catch (const cv::Exception& e) {
      throw Error(code::kInvalidData, o.model + ": OpenCV cannot load it as a YuNet face detector: " + e.msg);
    }
    if (net_.empty()) throw Error(code::kInvalidData, o.model + ": OpenCV cannot load it as a YuNet face detector");
  }

 protected:
  std::vector<FaceBox> detectAtSize(const uint8_t* rgb, int width, int height) override {
    cv::Mat src(height, width, CV_8UC3, const_cast<uint8_t*>(rgb)), bgr, faces;
    cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
    try {
      net_->setInputSize(cv::Size(width, height));
      net_->detect(bgr, faces);
    } catch (const cv::Exception& e) {
      throw Error(code::kInvalidData, "YuNet face detection failed: " + e.msg);
    }
    std::vector<FaceBox> out;
    // Each row: x, y, w, h, five landmarks (x, y), score.
    for (int i = 0; i < faces.rows; ++i) {
      const float* f = faces.ptr<float>(i);
      out.push_back({f[0], f[1], f[2], f[3], f[14]});
    }
    return out;
  }

 private:
  double minScore_;
  cv::Ptr<cv::FaceDetectorYN> net_;
};

}  // namespace

bool haveHogFaceDetector() {
#ifdef FVC_HAVE_DLIB
  return true;
#else
  return false;
#endif
}

std::unique_ptr<FaceDetector> makeFaceDetector(const FaceDetectorOptions& o) {
  if (o.detector == "yunet") return std::make_unique<YuNetFaceDetector>(o);
  if (o.detector != "hog") throw Error(code::kInvalidArgument, "faces.detector: '" + o.detector + "' is not one of hog, yunet");
#ifdef FVC_HAVE_DLIB
  return std::make_unique<HogFaceDetector>(o);
#else
  throw Error(
      code::kInvalidArgument,
      "faces.detector: hog needs dlib, and this build of fvc was made without it (install libdlib-dev and rebuild: npm run build:native), or use "
      "detector yunet with a YuNet ONNX file");
#endif
}

}  // namespace fvc
