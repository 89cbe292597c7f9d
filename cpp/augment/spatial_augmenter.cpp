#include "augment/spatial_augmenter.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace fvc {

SpatialAugmenter::SpatialAugmenter(const SpatialSpec& spec, int width, int height) : s_(spec), w_(width), h_(height) {
  jitter_ = s_.brightness != 1.0 || s_.contrast != 1.0 || s_.saturation != 1.0 || s_.hue != 0.0;
  if (s_.cropScale >= 1.0 && s_.rotateDeg == 0.0) return;
  // Destination -> source map: output pixel p looks at crop origin + R(p - c) / zoom.
  // The crop window is cw x ch at (x0, y0); rotation about its centre with a zoom
  // that keeps the rotated window covering the whole frame.
  double scale = std::clamp(s_.cropScale, 0.05, 1.0);
  double cw = w_ * scale, ch = h_ * scale;
  double x0 = (w_ - cw) * std::clamp(s_.cropX, 0.0, 1.0);
  double y0 = (h_ - ch) * std::clamp(s_.cropY, 0.0, 1.0);
  double th = s_.rotateDeg * M_PI / 180.0;
  double c = std::cos(th), s = std::sin(th);
  double cover = std::max((cw * std::abs(c) + ch * std::abs(s)) / cw, (cw * std::abs(s) + ch * std::abs(c)) / ch);
  // Forward map (source -> destination): translate window centre to origin,
  // rotate, zoom by cover and by the crop's resize factor, move to frame centre.
  double zx = w_ / cw, zy = h_ / ch;
  double ax = zx * cover, ay = zy * cover;
  // OpenCV puts pixel centres at integer coordinates; shifting both ends by half a
  // pixel keeps edges aligned as any centre-aligned resize (swscale, PIL) does.
  double cx = x0 + cw / 2 - 0.5, cy = y0 + ch / 2 - 0.5;
  cv::Mat m = (cv::Mat_<double>(2, 3) << ax * c, -ax * s, 0, ay * s, ay * c, 0);
  m.at<double>(0, 2) = w_ / 2.0 - 0.5 - (m.at<double>(0, 0) * cx + m.at<double>(0, 1) * cy);
  m.at<double>(1, 2) = h_ / 2.0 - 0.5 - (m.at<double>(1, 0) * cx + m.at<double>(1, 1) * cy);
  warp_ = m;
}

void SpatialAugmenter::apply(cv::Mat& rgb, int64_t frameIndex) {
  if (!warp_.empty()) {
    cv::Mat out;
    cv::warpAffine(rgb, out, warp_, rgb.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
    out.copyTo(rgb);
  }
  if (s_.hflip) cv::flip(rgb, rgb, 1);
  // Blur before noise: a camera's optics soften the image, its sensor then adds noise.
  if (s_.blurSigma > 0) cv::GaussianBlur(rgb, rgb, cv::Size(0, 0), s_.blurSigma, s_.blurSigma, cv::BORDER_REFLECT_101);
  if (jitter_ || s_.noiseSigma > 0) {
    rgb.convertTo(f32_, CV_32FC3);
    if (s_.brightness != 1.0) f32_ *= s_.brightness;
    if (s_.contrast != 1.0) {
      // As torchvision: blend with the mean grey level of the (clamped) image.
      cv::Mat clamped = cv::min(cv::max(f32_, 0.0), 255.0);
      cv::cvtColor(clamped, gray_, cv::COLOR_RGB2GRAY);
      double mean = cv::mean(gray_)[0];
      f32_ = clamped * s_.contrast + cv::Scalar::all(mean * (1.0 - s_.contrast));
    }
    if (s_.saturation != 1.0) {
      cv::Mat clamped = cv::min(cv::max(f32_, 0.0), 255.0);
      cv::cvtColor(clamped, gray_, cv::COLOR_RGB2GRAY);
      cv::Mat gray3;
      cv::cvtColor(gray_, gray3, cv::COLOR_GRAY2RGB);
      cv::addWeighted(clamped, s_.saturation, gray3, 1.0 - s_.saturation, 0.0, f32_);
    }
    if (s_.hue != 0.0) {
      cv::Mat clamped = cv::min(cv::max(f32_, 0.0), 255.0) / 255.0;
      cv::Mat hsv;
      cv::cvtColor(clamped, hsv, cv::COLOR_RGB2HSV);  // float: H in degrees [0,360)
      std::vector<cv::Mat> ch;
      cv::split(hsv, ch);
      ch[0] += s_.hue * 360.0;
      for (int y = 0; y < ch[0].rows; ++y) {
        float* p = ch[0].ptr<float>(y);
        for (int x = 0; x < ch[0].cols; ++x) p[x] = std::fmod(std::fmod(p[x], 360.0f) + 360.0f, 360.0f);
      }
      cv::merge(ch, hsv);
      cv::cvtColor(hsv, f32_, cv::COLOR_HSV2RGB);
      f32_ *= 255.0;
    }
    if (s_.noiseSigma > 0) {
      // cv::RNG is a fixed multiply-with-carry generator: the same seed gives the
      // same noise on every machine, so copies are byte-reproducible.
      cv::RNG rng(s_.noiseSeed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(frameIndex) + 1);
      noise_.create(f32_.size(), CV_32FC3);
      rng.fill(noise_, cv::RNG::NORMAL, 0.0, s_.noiseSigma);
      f32_ += noise_;
    }
    f32_.convertTo(rgb, CV_8UC3);  // rounds and saturates to 0..255
  }
}

}  // namespace fvc
