#include "features/handcrafted.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"

namespace fvc {
namespace {

// Per-frame statistics, in schema order; each is aggregated as _mean and _std.
const std::vector<std::string> kFrameStats = {
    "noise_energy",        "noise_mean",          "noise_std",                                   // high-pass residual
    "dct_dc_mean",         "dct_dc_std",          "dct_ac_mean", "dct_ac_std", "dct_ac_energy",  // 8x8 block DCT
    "laplacian_var",       "sobel_mean",          "sobel_std",                                   // blur / sharpness
    "block_boundary_diff", "block_interior_diff", "blockiness",                                  // 8x8 grid inconsistency
};
// Per-video values.
const std::vector<std::string> kVideoStats = {
    "framediff_mean", "framediff_std", "noise_temporal_var",  // temporal (consecutive sampled frames)
    "codec_bitrate",  "codec_fps",     "codec_width",        "codec_height", "codec_bits_per_pixel",
};

std::vector<std::string> buildNames() {
  std::vector<std::string> names;
  for (const auto& s : kFrameStats) {
    names.push_back(s + "_mean");
    names.push_back(s + "_std");
  }
  names.insert(names.end(), kVideoStats.begin(), kVideoStats.end());
  return names;
}

// Second-order high-pass (SRM-style) residual: what is left after removing the
// locally predictable image content, where sensor noise and resampling live.
cv::Mat residual(const cv::Mat& gray) {
  static const cv::Mat k = (cv::Mat_<float>(3, 3) << -1, 2, -1, 2, -4, 2, -1, 2, -1) / 4.0f;
  cv::Mat r;
  cv::filter2D(gray, r, CV_32F, k, cv::Point(-1, -1), 0, cv::BORDER_REFLECT_101);
  return r;
}

void meanStd(const cv::Mat& m, double& mean, double& stddev) {
  cv::Scalar mu, sd;
  cv::meanStdDev(m, mu, sd);
  mean = mu[0];
  stddev = sd[0];
}

std::vector<double> frameStats(const cv::Mat& gray, const cv::Mat& noise) {
  std::vector<double> out;
  out.reserve(kFrameStats.size());
  double m, s;
  meanStd(noise, m, s);
  out.push_back(cv::mean(noise.mul(noise))[0]);
  out.push_back(m);
  out.push_back(s);

  // Orthonormal 8x8 DCT-II of every full block (pixels centred on 128, as JPEG).
  int bw = gray.cols / 8, bh = gray.rows / 8;
  if (bw == 0 || bh == 0) throw Error(code::kInvalidData, "frame smaller than one 8x8 block");
  std::vector<double> dc;
  dc.reserve(static_cast<size_t>(bw) * bh);
  double acAbs = 0, acAbs2 = 0;
  cv::Mat block(8, 8, CV_32F), coeff;
  for (int by = 0; by < bh; ++by) {
    for (int bx = 0; bx < bw; ++bx) {
      gray(cv::Rect(bx * 8, by * 8, 8, 8)).convertTo(block, CV_32F, 1.0, -128.0);
      cv::dct(block, coeff);
      dc.push_back(coeff.at<float>(0, 0));
      for (int i = 1; i < 64; ++i) {  // 0 is the DC coefficient
        double a = std::fabs(coeff.at<float>(i / 8, i % 8));
        acAbs += a;
        acAbs2 += a * a;
      }
    }
  }
  double nAc = 63.0 * dc.size();
  cv::Mat dcMat(dc);
  meanStd(dcMat, m, s);
  out.push_back(m);
  out.push_back(s);
  double acMean = acAbs / nAc;
  double acSq = acAbs2 / nAc;
  out.push_back(acMean);
  out.push_back(std::sqrt(std::max(0.0, acSq - acMean * acMean)));
  out.push_back(acSq);

  cv::Mat lap;
  cv::Laplacian(gray, lap, CV_32F, 1, 1, 0, cv::BORDER_REFLECT_101);
  meanStd(lap, m, s);
  out.push_back(s * s);
  cv::Mat gx, gy, mag;
  cv::Sobel(gray, gx, CV_32F, 1, 0, 3, 1, 0, cv::BORDER_REFLECT_101);
  cv::Sobel(gray, gy, CV_32F, 0, 1, 3, 1, 0, cv::BORDER_REFLECT_101);
  cv::magnitude(gx, gy, mag);
  meanStd(mag, m, s);
  out.push_back(m);
  out.push_back(s);

  // Absolute differences between horizontally and vertically adjacent pixels,
  // split by whether the pair straddles the 8x8 coding grid.
  double boundary = 0, interior = 0;
  int64_t nb = 0, ni = 0;
  for (int y = 0; y < gray.rows; ++y) {
    const float* row = gray.ptr<float>(y);
    const float* below = y + 1 < gray.rows ? gray.ptr<float>(y + 1) : nullptr;
    for (int x = 0; x < gray.cols; ++x) {
      if (x + 1 < gray.cols) {
        double d = std::fabs(row[x + 1] - row[x]);
        if ((x + 1) % 8 == 0) boundary += d, ++nb;
        else interior += d, ++ni;
      }
      if (below) {
        double d = std::fabs(below[x] - row[x]);
        if ((y + 1) % 8 == 0) boundary += d, ++nb;
        else interior += d, ++ni;
      }
    }
  }
  double bMean = nb ? boundary / nb : 0, iMean = ni ? interior / ni : 0;
  out.push_back(bMean);
  out.push_back(iMean);
  out.push_back(bMean - iMean);
  return out;
}

}  // namespace

const std::vector<std::string>& handcraftedFeatureNames() {
  static const std::vector<std::string> names = buildNames();
  return names;
}

FeatureVector computeHandcraftedFeatures(const uint8_t* frames, int count, int width, int height, const ProbeResult& probe) {
  if (count <= 0) throw Error(code::kInvalidArgument, "features need at least one frame");
  if (width < 8 || height < 8) throw Error(code::kInvalidData, "frames smaller than 8x8 pixels have no block statistics");
  const size_t frameBytes = static_cast<size_t>(width) * height * 3;
  std::vector<std::vector<double>> perFrame;
  std::vector<cv::Mat> grays, noises;
  for (int i = 0; i < count; ++i) {
    cv::Mat rgb(height, width, CV_8UC3, const_cast<uint8_t*>(frames + frameBytes * i));
    cv::Mat rgbF, gray;
    rgb.convertTo(rgbF, CV_32F);
    cv::cvtColor(rgbF, gray, cv::COLOR_RGB2GRAY);  // 0.299 R + 0.587 G + 0.114 B
    cv::Mat noise = residual(gray);
    perFrame.push_back(frameStats(gray, noise));
    grays.push_back(gray);
    noises.push_back(noise);
  }

  FeatureVector fv;
  for (size_t k = 0; k < kFrameStats.size(); ++k) {
    double sum = 0, sum2 = 0;
    for (const auto& f : perFrame) sum += f[k];
    double mean = sum / count;
    for (const auto& f : perFrame) sum2 += (f[k] - mean) * (f[k] - mean);
    fv.values.emplace_back(mean);
    fv.values.emplace_back(std::sqrt(sum2 / count));  // population std, as numpy's default
  }

  if (count >= 2) {
    std::vector<double> diffs;
    for (int i = 1; i < count; ++i) {
      cv::Mat d;
      cv::absdiff(grays[i], grays[i - 1], d);
      diffs.push_back(cv::mean(d)[0]);
    }
    cv::Mat dm(diffs);
    double m, s;
    meanStd(dm, m, s);
    fv.values.emplace_back(m);
    fv.values.emplace_back(s);
    // Per-pixel variance of the residual across frames, averaged over the picture.
    cv::Mat sum = cv::Mat::zeros(height, width, CV_64F), sum2 = cv::Mat::zeros(height, width, CV_64F);
    for (const auto& n : noises) {
      cv::Mat n64;
      n.convertTo(n64, CV_64F);
      sum += n64;
      sum2 += n64.mul(n64);
    }
    cv::Mat mean = sum / count;
    cv::Mat var = sum2 / count - mean.mul(mean);
    fv.values.emplace_back(cv::mean(var)[0]);
  } else {
    fv.values.insert(fv.values.end(), 3, std::nullopt);
  }

  double rate = probe.streamBitrate > 0 ? double(probe.streamBitrate) : double(probe.bitrate);
  auto known = [](double v) { return v > 0 ? std::optional<double>(v) : std::nullopt; };
  fv.values.push_back(known(rate));
  fv.values.push_back(known(probe.avgFps > 0 ? probe.avgFps : probe.realFps));
  fv.values.emplace_back(probe.displayWidth);
  fv.values.emplace_back(probe.displayHeight);
  double fps = probe.avgFps > 0 ? probe.avgFps : probe.realFps;
  fv.values.push_back(rate > 0 && fps > 0 ? std::optional<double>(rate / (double(probe.width) * probe.height * fps)) : std::nullopt);
  return fv;
}

}  // namespace fvc
