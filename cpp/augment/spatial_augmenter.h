#pragma once
// The spatial half of a Stage 1 augmentation: one fixed set of parameters applied
// to every frame of a video (so the copy stays temporally coherent), except the
// sensor-like Gaussian noise, which is drawn anew per frame from a seeded stream.
#include <opencv2/core.hpp>

#include <cstdint>

namespace fvc {

struct SpatialSpec {
  bool hflip = false;
  // Crop window as fractions of the frame (scale 1 = no crop), resized back to full size.
  double cropScale = 1.0, cropX = 0.5, cropY = 0.5;                      // x/y: window centre position in [0,1] of the free range
  double rotateDeg = 0.0;                                                // zoomed to cover, so no borders appear
  double brightness = 1.0, contrast = 1.0, saturation = 1.0, hue = 0.0;  // torchvision ColorJitter factors; hue in turns [-0.5,0.5]
  double blurSigma = 0.0;                                                // Gaussian, applied before noise
  double noiseSigma = 0.0;                                               // on the 0..255 scale
  uint64_t noiseSeed = 0;
};

class SpatialAugmenter {
 public:
  SpatialAugmenter(const SpatialSpec& spec, int width, int height);
  // rgb: height x width x 3, modified in place. frameIndex selects the noise draw.
  void apply(cv::Mat& rgb, int64_t frameIndex);

 private:
  SpatialSpec s_;
  int w_, h_;
  cv::Mat warp_;  // crop and rotation folded into one affine map, empty when identity
  bool jitter_;
  cv::Mat f32_, gray_, noise_;
};

}  // namespace fvc
