#include "io/png.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "common/error.h"
#include "io/atomic_file.h"

namespace fvc {

void writePngRgb(const std::string& path, const uint8_t* rgb, int width, int height) {
  cv::Mat src(height, width, CV_8UC3, const_cast<uint8_t*>(rgb));
  cv::Mat bgr;
  cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> encoded;
  if (!cv::imencode(".png", bgr, encoded)) throw Error(code::kIo, path + ": PNG encoding failed");
  writeFileAtomic(path, encoded.data(), encoded.size());
}

}  // namespace fvc
