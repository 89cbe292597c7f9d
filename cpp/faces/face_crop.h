#pragma once
// Face crops as DeepfakeBench makes them, made safe for any clip: per frame the
// largest face is found, then followed (the face overlapping the previous one most),
// and a square `margin` times the face's longer side, centred on it, is cut out and
// resized. A frame without a face reuses the previous face's square, or the whole
// frame (its centred largest square) when no face has been seen yet; such frames are
// counted, never fatal.
#include <cstdint>
#include <memory>
#include <vector>

#include "faces/face_detector.h"
#include "video/frame_converter.h"

namespace fvc {

struct FaceCropOptions {
  FaceDetectorOptions detector;
  double margin = 1.3;  // DeepfakeBench's crop scale
};

struct CropSquare {
  int x = 0, y = 0, side = 0;  // inside the frame
  bool face = false;           // a face was detected in this frame
};

// The square of side round(margin x the box's longer side) centred on the box, shrunk to
// the frame's shorter side and moved inside the frame (DeepfakeBench clips it at the
// borders instead, which makes it smaller and off-centre there).
CropSquare squareAround(const FaceBox& box, double margin, int width, int height);

class FaceTracker {
 public:
  explicit FaceTracker(const FaceCropOptions& options);
  // The square to cut from this frame (packed RGB).
  CropSquare next(const uint8_t* rgb, int width, int height);
  int faceFrames() const { return faceFrames_; }
  // Every face the last next() found, in the detector's order.
  const std::vector<FaceBox>& lastFaces() const { return faces_; }

 private:
  FaceCropOptions options_;
  std::unique_ptr<FaceDetector> detector_;
  bool tracking_ = false;
  FaceBox last_;
  CropSquare square_;
  std::vector<FaceBox> faces_;
  int faceFrames_ = 0;
};

// Cuts `square` out of a packed RGB frame and resizes it to size x size into dst.
void cropResize(const uint8_t* rgb, int width, int height, const CropSquare& square, int size, Interpolation interpolation, uint8_t* dst);

struct FaceCropResult {
  std::vector<uint8_t> data;        // count x size x size x 3
  std::vector<CropSquare> squares;  // per frame, in source pixels
  int faceFrames = 0;
};

// Face crops of `count` packed RGB frames of width x height, in order (tracking runs through them).
FaceCropResult cropFaces(const uint8_t* frames, int count, int width, int height, const FaceCropOptions& options, int size,
                         Interpolation interpolation);

}  // namespace fvc
