#pragma once
// Face detectors for face crops (Stage 3 --faces, the frame cache's faces option):
// dlib's HOG frontal face detector, the one DeepfakeBench's preprocessing uses (no
// model file), and OpenCV's FaceDetectorYN with a YuNet ONNX file the user supplies.
// A detector may be used by one thread at a time; each face-cropping job makes its own.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fvc {

struct FaceBox {
  double x = 0, y = 0, w = 0, h = 0;  // in the pixels of the frame given to detect()
  double score = 0;                   // HOG: SVM margin; YuNet: confidence in [0, 1]
};

struct FaceDetectorOptions {
  std::string detector = "hog";  // "hog" | "yunet"
  std::string model;             // YuNet: the .onnx file
  // HOG: times the image is doubled before detection (dlib's `detector(img, 1)` is 1);
  // faces smaller than ~80/2^upsample px are missed.
  int upsample = 1;
  // Frames whose longer side exceeds this are shrunk to it for detection (boxes are
  // mapped back); 0 detects at the frame's own size, as DeepfakeBench does.
  int detectSize = 640;
  double minScore = 0;  // HOG: margin threshold (dlib's adjust_threshold); YuNet: 0.9 when 0
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // Faces in a packed RGB image, best first (dlib's / YuNet's own order).
  std::vector<FaceBox> detect(const uint8_t* rgb, int width, int height);

 protected:
  virtual std::vector<FaceBox> detectAtSize(const uint8_t* rgb, int width, int height) = 0;
  int detectSize_ = 0;
};

// Throws ERR_INVALID_ARGUMENT for an unknown detector or one this build lacks, ERR_FILE_NOT_FOUND
// / ERR_INVALID_DATA for a YuNet model that is missing or that OpenCV cannot load.
std::unique_ptr<FaceDetector> makeFaceDetector(const FaceDetectorOptions& options);

// Whether this build has dlib's detector (FVC_HAVE_DLIB).
bool haveHogFaceDetector();

}  // namespace fvc
