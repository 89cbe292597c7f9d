#pragma once
// Decoded frame -> RGB24 at the requested geometry: letterboxed into a square of
// `size` (aspect kept, black bars) or scaled so the longer side is `size` (native
// aspect, no bars). Rotation metadata is applied, so frames look as a player
// shows them, and full-range (yuvj) and 10-bit inputs convert with the right
// range and matrix.
#include <cstdint>
#include <string>
#include <vector>

#include "video/av_util.h"

namespace fvc {

enum class Interpolation { Nearest, Bilinear, Bicubic, Area, Lanczos };
Interpolation parseInterpolation(const std::string& name);  // throws ERR_INVALID_ARGUMENT

struct ResizeOptions {
  int size = 256;         // target (max) dimension; 0 with letterbox=false keeps the native size
  bool letterbox = true;  // pad to size x size; false keeps the native aspect ratio without bars
  Interpolation interpolation = Interpolation::Bilinear;
};

struct OutputGeometry {
  int width = 0, height = 0;                // output buffer
  int contentWidth = 0, contentHeight = 0;  // the picture inside it
  int offsetX = 0, offsetY = 0;             // top-left of the picture
};

// displayWidth/Height: the picture as shown (after rotation).
OutputGeometry computeGeometry(int displayWidth, int displayHeight, const ResizeOptions& options);

class FrameConverter {
 public:
  FrameConverter(const OutputGeometry& geometry, int rotation, Interpolation interpolation);
  // Writes height*width*3 bytes of packed RGB into dst.
  void convert(const AVFrame* frame, uint8_t* dst);

 private:
  void ensureContext(const AVFrame* frame);

  OutputGeometry geo_;
  int rotation_;
  int swsFlags_;
  int scaledW_, scaledH_;  // size before rotation
  int scaledStride_;
  std::vector<uint8_t> scaled_;
  av::SwsPtr sws_;
  int srcW_ = -1, srcH_ = -1, srcFmt_ = -1, srcRange_ = -1, srcSpace_ = -1;
};

}  // namespace fvc
