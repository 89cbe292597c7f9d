#include "faces/face_crop.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace fvc {

namespace {

double iou(const FaceBox& a, const FaceBox& b) {
  const double ix = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const double iy = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const double inter = ix * iy, uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

// Largest first; among equal areas the more confident.
const FaceBox& largest(const std::vector<FaceBox>& faces) {
  return *std::max_element(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) {
    const double aa = a.w * a.h, ba = b.w * b.h;
    return aa != ba ? aa < ba : a.score < b.score;
  });
}

int cvInterpolation(Interpolation i) {
  switch (i) {
    case Interpolation::Nearest:
      return cv::INTER_NEAREST;
    case Interpolation::Bicubic:
      return cv::INTER_CUBIC;
    case Interpolation::Area:
      return cv::INTER_AREA;
    case Interpolation::Lanczos:
      return cv::INTER_LANCZOS4;
    case Interpolation::Bilinear:
      break;
  }
  return cv::INTER_LINEAR;
}

CropSquare wholeFrame(int width, int height) {
  const int side = std::min(width, height);
  return {(width - side) / 2, (height - side) / 2, side, false};
}

}  // namespace

CropSquare squareAround(const FaceBox& box, double margin, int width, int height) {
  const int limit = std::min(width, height);
  const int side = std::clamp(int(std::lround(std::max(box.w, box.h) * margin)), 1, limit);
  const double cx = box.x + box.w / 2, cy = box.y + box.h / 2;
  const int x = std::clamp(int(std::lround(cx - side / 2.0)), 0, width - side);
  const int y = std::clamp(int(std::lround(cy - side / 2.0)), 0, height - side);
  return {x, y, side, true};
}

FaceTracker::FaceTracker(const FaceCropOptions& options) : options_(options), detector_(makeFaceDetector(options.detector)) {}

CropSquare FaceTracker::next(const uint8_t* rgb, int width, int height) {
  faces_ = detector_->detect(rgb, width, height);
  const std::vector<FaceBox>& faces = faces_;
  if (faces.empty()) {
    CropSquare s = tracking_ ? square_ : wholeFrame(width, height);
    // A stream whose size changes mid-way keeps the square inside the frame.
    if (s.x + s.side > width || s.y + s.side > height) s = wholeFrame(width, height);
    s.face = false;
    return s;
  }
  const FaceBox* pick = &largest(faces);
  if (tracking_) {
    // The face that overlaps the one followed so far; the largest when none does (a cut).
    double best = 0;
    for (const FaceBox& f : faces) {
      const double o = iou(f, last_);
      if (o > best) best = o, pick = &f;
    }
  }
  last_ = *pick;
  tracking_ = true;
  square_ = squareAround(last_, options_.margin, width, height);
  ++faceFrames_;
  return square_;
}

void cropResize(const uint8_t* rgb, int width, int height, const CropSquare& square, int size, Interpolation interpolation, uint8_t* dst) {
  const cv::Mat src(height, width, CV_8UC3, const_cast<uint8_t*>(rgb));
  cv::Mat out(size, size, CV_8UC3, dst);
  const cv::Mat roi = src(cv::Rect(square.x, square.y, square.side, square.side));
  if (square.side == size) {
    roi.copyTo(out);
    return;
  }
  // Shrinking with INTER_LINEAR aliases; OpenCV's area filter is the one that averages.
  const int flag = square.side > size && interpolation == Interpolation::Bilinear ? cv::INTER_AREA : cvInterpolation(interpolation);
  cv::resize(roi, out, cv::Size(size, size), 0, 0, flag);
}

FaceCropResult cropFaces(const uint8_t* frames, int count, int width, int height, const FaceCropOptions& options, int size,
                         Interpolation interpolation) {
  FaceCropResult r;
  FaceTracker tracker(options);
  const size_t inBytes = size_t(width) * height * 3, outBytes = size_t(size) * size * 3;
  r.data.resize(outBytes * count);
  r.squares.reserve(count);
  for (int i = 0; i < count; ++i) {
    const uint8_t* frame = frames + inBytes * i;
    r.squares.push_back(tracker.next(frame, width, height));
    cropResize(frame, width, height, r.squares.back(), size, interpolation, r.data.data() + outBytes * i);
  }
  r.faceFrames = tracker.faceFrames();
  return r;
}

}  // namespace fvc
