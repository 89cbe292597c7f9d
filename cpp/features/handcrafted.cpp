#include "features/handcrafted.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "features/cell_grid.h"
#include "features/motion.h"

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

// Schema 2: local statistics on a grid of cells per frame (README "Local features").
// Each per-cell map is summarised by how it varies across the frame; each summary is
// aggregated over the sampled frames as _mean and _std.
const std::vector<std::string> kLocalMaps = {"noise", "dct_ac", "laplacian", "sobel", "blockiness"};
// Between each sampled frame and the frame after it in the stream.
const std::vector<std::string> kAdjacentSummaries = {"cv", "max_ratio", "top_share"};
// How each cell changes over the sampled frames.
const std::vector<std::string> kTemporalMaps = {"temporal_noise_cv", "temporal_luma_std"};
const std::vector<std::string> kTemporalSummaries = {"mean", "max_ratio", "top_share"};

std::vector<std::string> buildNames() {
  std::vector<std::string> names;
  auto meanStdOf = [&](const std::string& s) {
    names.push_back(s + "_mean");
    names.push_back(s + "_std");
  };
  for (const auto& s : kFrameStats) meanStdOf(s);
  names.insert(names.end(), kVideoStats.begin(), kVideoStats.end());
  for (const auto& m : kLocalMaps)
    for (const auto& k : mapSummaryNames()) meanStdOf("local_" + m + "_" + k);
  meanStdOf("adjacent_diff");
  for (const auto& k : kAdjacentSummaries) meanStdOf("local_adjacent_diff_" + k);
  for (const auto& m : kTemporalMaps)
    for (const auto& k : kTemporalSummaries) names.push_back(m + "_" + k);
  const std::vector<std::string>& motion = motionFeatureNames();
  names.insert(names.end(), motion.begin(), motion.end());
  return names;
}

// ---- local statistics (float64 throughout, so the numpy reference agrees closely) ----

struct LocalMaps {
  std::vector<std::vector<double>> maps;  // kLocalMaps order
  std::vector<double> luma;               // cell means of the luma
};

// AC energy per cell: the mean over its 8x8 blocks of the block's mean squared AC
// coefficient (orthonormal DCT-II). The transform is orthonormal, so the coefficients
// hold the block's energy and the DC term alone holds 64 mean^2: the AC part is the
// sum of squared deviations from the block mean, with no transform to compute.
std::vector<double> acEnergy(const cv::Mat& gray64, const Grid& g) {
  std::vector<double> out(g.count(), 0.0);
  for (int by = 0; by < g.rows * g.cell; by += 8)
    for (int bx = 0; bx < g.cols * g.cell; bx += 8) {
      double sum = 0, dev2 = 0;
      for (int y = by; y < by + 8; ++y)
        for (int x = bx; x < bx + 8; ++x) sum += gray64.at<double>(y, x);
      const double mean = sum / 64.0;
      for (int y = by; y < by + 8; ++y) {
        const double* row = gray64.ptr<double>(y) + bx;
        for (int x = 0; x < 8; ++x) dev2 += (row[x] - mean) * (row[x] - mean);
      }
      out[static_cast<size_t>(by / g.cell) * g.cols + bx / g.cell] += dev2 / 63.0;
    }
  const double blocks = (g.cell / 8.0) * (g.cell / 8.0);
  for (double& v : out) v /= blocks;
  return out;
}

// BORDER_REFLECT_101 (as the frame-wide statistics' filters): -1 -> 1, len -> len - 2.
inline int reflect101(int i, int len) { return i < 0 ? -i : (i >= len ? 2 * len - 2 - i : i); }

// Every per-cell map in one pass over the frame: the 3x3 stencils of the residual, the
// Laplacian and the Sobel gradient are evaluated per pixel and summed into their cell
// at once. Filtering whole frames first made a full-frame float64 temporary per map and
// frame (7 MB each at 720p, page-faulted in afresh every time) and read each one again.
LocalMaps localMaps(const cv::Mat& gray64, const Grid& g) {
  const size_t n = g.count();
  const int width = gray64.cols, height = gray64.rows;
  std::vector<double> noise(n, 0), lap1(n, 0), lap2(n, 0), sobel(n, 0), luma(n, 0), bound(n, 0), inner(n, 0), nb(n, 0), ni(n, 0);
  for (int y = 0; y < g.rows * g.cell; ++y) {
    const double* up = gray64.ptr<double>(reflect101(y - 1, height));
    const double* row = gray64.ptr<double>(y);
    const double* down = gray64.ptr<double>(reflect101(y + 1, height));
    const bool hasBelow = y + 1 < height, belowCrossesGrid = (y + 1) % 8 == 0;
    for (int cx = 0; cx < g.cols; ++cx) {
      const size_t c = static_cast<size_t>(y / g.cell) * g.cols + cx;
      double sNoise = 0, sLap = 0, sLap2 = 0, sSobel = 0, sLuma = 0, sBound = 0, sInner = 0, cBound = 0, cInner = 0;
      for (int x = cx * g.cell; x < (cx + 1) * g.cell; ++x) {
        const int l = reflect101(x - 1, width), r = reflect101(x + 1, width);
        const double a00 = up[l], a01 = up[x], a02 = up[r], a10 = row[l], a11 = row[x], a12 = row[r], a20 = down[l], a21 = down[x], a22 = down[r];
        const double residual = (2 * (a01 + a10 + a12 + a21) - (a00 + a02 + a20 + a22) - 4 * a11) / 4;
        const double laplacian = a01 + a10 + a12 + a21 - 4 * a11;
        const double gx = (a02 + 2 * a12 + a22) - (a00 + 2 * a10 + a20), gy = (a20 + 2 * a21 + a22) - (a00 + 2 * a01 + a02);
        sNoise += residual * residual;
        sLap += laplacian;
        sLap2 += laplacian * laplacian;
        sSobel += std::sqrt(gx * gx + gy * gy);
        sLuma += a11;
        // Blockiness: adjacent-pixel pairs whose first pixel lies in the cell, split by
        // whether they straddle the 8x8 coding grid.
        if (x + 1 < width) {
          const double d = std::fabs(a12 - a11);
          if ((x + 1) % 8 == 0) sBound += d, ++cBound;
          else sInner += d, ++cInner;
        }
        if (hasBelow) {
          const double d = std::fabs(a21 - a11);
          if (belowCrossesGrid) sBound += d, ++cBound;
          else sInner += d, ++cInner;
        }
      }
      noise[c] += sNoise, lap1[c] += sLap, lap2[c] += sLap2, sobel[c] += sSobel, luma[c] += sLuma;
      bound[c] += sBound, inner[c] += sInner, nb[c] += cBound, ni[c] += cInner;
    }
  }
  const double pixels = static_cast<double>(g.cell) * g.cell;
  LocalMaps out;
  std::vector<double> lapVar(n), blockiness(n);
  for (size_t c = 0; c < n; ++c) {
    noise[c] /= pixels, sobel[c] /= pixels, luma[c] /= pixels;
    const double m1 = lap1[c] / pixels;
    lapVar[c] = std::max(0.0, lap2[c] / pixels - m1 * m1);  // E[L^2] - E[L]^2
    // (1 + mean |diff| across the grid) / (1 + mean |diff| inside blocks)
    blockiness[c] = (1.0 + (nb[c] ? bound[c] / nb[c] : 0.0)) / (1.0 + (ni[c] ? inner[c] / ni[c] : 0.0));
  }
  out.maps = {std::move(noise), acEnergy(gray64, g), std::move(lapVar), std::move(sobel), std::move(blockiness)};
  out.luma = std::move(luma);
  return out;
}

// Luma in float64 into `gray` (reused across frames: same size, no new allocation).
void gray64Of(const uint8_t* rgb, int width, int height, cv::Mat& gray) {
  gray.create(height, width, CV_64F);
  for (int y = 0; y < height; ++y) {
    const uint8_t* p = rgb + static_cast<size_t>(y) * width * 3;
    double* dst = gray.ptr<double>(y);
    for (int x = 0; x < width; ++x, p += 3) dst[x] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  }
}

// |a - b| per cell (cell means), and its mean over the whole frame first.
std::vector<double> adjacentDiff(const cv::Mat& a, const cv::Mat& b, const Grid& g, double& frameMean) {
  std::vector<double> cells(g.count(), 0.0);
  double total = 0;
  for (int y = 0; y < a.rows; ++y) {
    const double* pa = a.ptr<double>(y);
    const double* pb = b.ptr<double>(y);
    const bool inGrid = y < g.rows * g.cell;
    double* dst = cells.data() + (inGrid ? static_cast<size_t>(y / g.cell) * g.cols : 0);
    for (int x = 0; x < a.cols; ++x) {
      const double d = std::fabs(pa[x] - pb[x]);
      total += d;
      if (inGrid && x < g.cols * g.cell) dst[x / g.cell] += d;
    }
  }
  frameMean = total / (static_cast<double>(a.rows) * a.cols);
  const double pixels = static_cast<double>(g.cell) * g.cell;
  for (double& v : cells) v /= pixels;
  return cells;
}

// Mean and population std over frames of each column of `rows`.
void appendMeanStd(FeatureVector& fv, const std::vector<std::vector<double>>& rows, size_t columns) {
  for (size_t k = 0; k < columns; ++k) {
    if (rows.empty()) {
      fv.values.insert(fv.values.end(), 2, std::nullopt);
      continue;
    }
    double sum = 0, sum2 = 0;
    for (const auto& r : rows) sum += r[k];
    const double mean = sum / rows.size();
    for (const auto& r : rows) sum2 += (r[k] - mean) * (r[k] - mean);
    fv.values.emplace_back(mean);
    fv.values.emplace_back(std::sqrt(sum2 / rows.size()));
  }
}

void appendLocalFeatures(FeatureVector& fv, const uint8_t* frames, int count, int width, int height) {
  const Grid g = gridFor(width, height);
  const size_t frameBytes = static_cast<size_t>(width) * height * 3;
  const size_t localCount =
      kLocalMaps.size() * mapSummaryNames().size() * 2 + 2 + kAdjacentSummaries.size() * 2 + kTemporalMaps.size() * kTemporalSummaries.size();
  // Fewer than 4 cells have no spatial distribution to speak of.
  if (g.count() < 4) {
    fv.values.insert(fv.values.end(), localCount, std::nullopt);
    return;
  }
  std::vector<std::vector<double>> spatial, adjacent;
  std::vector<LocalMaps> perFrame;
  cv::Mat a, b;
  for (int i = 0; i < count; ++i) {
    gray64Of(frames + frameBytes * (2 * i), width, height, a);
    gray64Of(frames + frameBytes * (2 * i + 1), width, height, b);
    LocalMaps maps = localMaps(a, g);
    std::vector<double> row;
    for (const auto& m : maps.maps) {
      std::vector<double> s = summarise(m);
      row.insert(row.end(), s.begin(), s.end());
    }
    spatial.push_back(row);
    double frameMean = 0;
    std::vector<double> s = summarise(adjacentDiff(a, b, g, frameMean));
    adjacent.push_back({frameMean, s[0], s[1], s[3]});  // adjacent_diff, then cv, max_ratio, top_share
    perFrame.push_back(std::move(maps));
  }
  appendMeanStd(fv, spatial, kLocalMaps.size() * mapSummaryNames().size());
  appendMeanStd(fv, adjacent, 1 + kAdjacentSummaries.size());
  // Per cell over the sampled frames: the noise energy's coefficient of variation and
  // the luma's standard deviation (a region that flickers or is re-rendered per frame).
  if (count < 2) {
    fv.values.insert(fv.values.end(), kTemporalMaps.size() * kTemporalSummaries.size(), std::nullopt);
    return;
  }
  std::vector<double> noiseCv(g.count()), lumaStd(g.count());
  for (int c = 0; c < g.count(); ++c) {
    double n1 = 0, l1 = 0, n2 = 0, l2 = 0;
    for (const auto& f : perFrame) n1 += f.maps[0][c], l1 += f.luma[c];
    const double nm = n1 / count, lm = l1 / count;
    for (const auto& f : perFrame) n2 += (f.maps[0][c] - nm) * (f.maps[0][c] - nm), l2 += (f.luma[c] - lm) * (f.luma[c] - lm);
    noiseCv[c] = nm > 0 ? std::sqrt(n2 / count) / nm : 0.0;
    lumaStd[c] = std::sqrt(l2 / count);
  }
  for (const auto* m : {&noiseCv, &lumaStd}) {
    double mean = 0;
    for (double v : *m) mean += v;
    std::vector<double> s = summarise(*m);
    fv.values.emplace_back(mean / m->size());
    fv.values.emplace_back(s[1]);
    fv.values.emplace_back(s[3]);
  }
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
    // Schema 1's statistics read the sampled frames, not their successors.
    cv::Mat rgb(height, width, CV_8UC3, const_cast<uint8_t*>(frames + frameBytes * (2 * i)));
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
  appendLocalFeatures(fv, frames, count, width, height);
  appendMotionFeatures(fv.values, frames, count, width, height);
  return fv;
}

}  // namespace fvc
