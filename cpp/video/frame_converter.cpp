#include "video/frame_converter.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <opencv2/core.hpp>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "common/error.h"

namespace fvc {
namespace {

int swsFlagsFor(Interpolation i) {
  // Accurate rounding and full chroma interpolation keep colours within a level or
  // two of ffmpeg's own conversions at little cost for model-sized outputs.
  int base = SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
  switch (i) {
    case Interpolation::Nearest:
      return base | SWS_POINT;
    case Interpolation::Bilinear:
      return base | SWS_BILINEAR;
    case Interpolation::Bicubic:
      return base | SWS_BICUBIC;
    case Interpolation::Area:
      return base | SWS_AREA;
    case Interpolation::Lanczos:
      return base | SWS_LANCZOS;
  }
  return base | SWS_BILINEAR;
}

// swscale deprecates the yuvj* formats: use the plain format plus a full-range flag.
AVPixelFormat dejpeg(AVPixelFormat f, bool& fullRange) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      fullRange = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      fullRange = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      fullRange = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      fullRange = true;
      return AV_PIX_FMT_YUV440P;
    default:
      return f;
  }
}

}  // namespace

Interpolation parseInterpolation(const std::string& name) {
  if (name == "nearest") return Interpolation::Nearest;
  if (name == "bilinear") return Interpolation::Bilinear;
  if (name == "bicubic") return Interpolation::Bicubic;
  if (name == "area") return Interpolation::Area;
  if (name == "lanczos") return Interpolation::Lanczos;
  throw Error(code::kInvalidArgument, "interpolation: unknown value '" + name + "' (expected nearest, bilinear, bicubic, area or lanczos)");
}

OutputGeometry computeGeometry(int w, int h, const ResizeOptions& o) {
  if (w <= 0 || h <= 0) throw Error(code::kInvalidData, "video has no picture size");
  if (o.size < 0 || (o.letterbox && o.size == 0)) throw Error(code::kInvalidArgument, "size: must be a positive number of pixels");
  OutputGeometry g;
  if (!o.letterbox && o.size == 0) {
    g.width = g.contentWidth = w;
    g.height = g.contentHeight = h;
    return g;
  }
  double scale = o.letterbox ? std::min(double(o.size) / w, double(o.size) / h) : double(o.size) / std::max(w, h);
  g.contentWidth = std::clamp(static_cast<int>(std::lround(w * scale)), 1, o.size);
  g.contentHeight = std::clamp(static_cast<int>(std::lround(h * scale)), 1, o.size);
  if (o.letterbox) {
    g.width = g.height = o.size;
    g.offsetX = (o.size - g.contentWidth) / 2;
    g.offsetY = (o.size - g.contentHeight) / 2;
  } else {
    g.width = g.contentWidth;
    g.height = g.contentHeight;
  }
  return g;
}

FrameConverter::FrameConverter(const OutputGeometry& geometry, int rotation, Interpolation interpolation)
    : geo_(geometry), rotation_(rotation), swsFlags_(swsFlagsFor(interpolation)) {
  bool swap = rotation_ == 90 || rotation_ == 270;
  scaledW_ = swap ? geo_.contentHeight : geo_.contentWidth;
  scaledH_ = swap ? geo_.contentWidth : geo_.contentHeight;
  scaledStride_ = FFALIGN(scaledW_ * 3, 64);  // aligned rows keep swscale on its SIMD paths
  scaled_.resize(static_cast<size_t>(scaledStride_) * scaledH_ + 64);
}

void FrameConverter::ensureContext(const AVFrame* frame) {
  bool fullRange = frame->color_range == AVCOL_RANGE_JPEG;
  AVPixelFormat fmt = dejpeg(static_cast<AVPixelFormat>(frame->format), fullRange);
  int space = frame->colorspace;
  if (sws_ && frame->width == srcW_ && frame->height == srcH_ && fmt == srcFmt_ && int(fullRange) == srcRange_ && space == srcSpace_) return;
  sws_.reset(sws_getContext(frame->width, frame->height, fmt, scaledW_, scaledH_, AV_PIX_FMT_RGB24, swsFlags_, nullptr, nullptr, nullptr));
  if (!sws_) {
    const char* name = av_get_pix_fmt_name(fmt);
    throw Error(code::kUnsupportedCodec, std::string("cannot convert pixel format '") + (name ? name : "?") + "' to RGB");
  }
  // Unspecified matrices fall back to BT.601, as ffmpeg's scale filter does.
  const int* srcCoeffs = sws_getCoefficients(space == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : space);
  sws_setColorspaceDetails(sws_.get(), srcCoeffs, fullRange ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  srcW_ = frame->width;
  srcH_ = frame->height;
  srcFmt_ = fmt;
  srcRange_ = fullRange;
  srcSpace_ = space;
}

void FrameConverter::convert(const AVFrame* frame, uint8_t* dst) {
  ensureContext(frame);
  uint8_t* planes[4] = {scaled_.data(), nullptr, nullptr, nullptr};
  int strides[4] = {scaledStride_, 0, 0, 0};
  sws_scale(sws_.get(), frame->data, frame->linesize, 0, frame->height, planes, strides);

  const size_t dstStride = static_cast<size_t>(geo_.width) * 3;
  if (geo_.contentWidth != geo_.width || geo_.contentHeight != geo_.height) {
    std::memset(dst, 0, dstStride * geo_.height);
  }
  uint8_t* roiStart = dst + static_cast<size_t>(geo_.offsetY) * dstStride + static_cast<size_t>(geo_.offsetX) * 3;
  cv::Mat src(scaledH_, scaledW_, CV_8UC3, scaled_.data(), scaledStride_);
  cv::Mat roi(geo_.contentHeight, geo_.contentWidth, CV_8UC3, roiStart, dstStride);
  switch (rotation_) {
    case 90:
      cv::rotate(src, roi, cv::ROTATE_90_CLOCKWISE);
      break;
    case 180:
      cv::rotate(src, roi, cv::ROTATE_180);
      break;
    case 270:
      cv::rotate(src, roi, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      src.copyTo(roi);
      break;
  }
}

}  // namespace fvc
