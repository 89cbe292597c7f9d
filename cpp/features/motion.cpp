#include "features/motion.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "features/cell_grid.h"

namespace fvc {
namespace {

// Per cell map: its mean over cells (the level, in pixels per frame), then how it varies.
const std::vector<std::string> kMapStats = {"mean", "cv", "max_ratio", "top_share"};
const std::vector<std::string> kMaps = {"motion_cell_dev", "motion_neighbour_dev"};

std::vector<std::string> buildNames() {
  std::vector<std::string> names = {"motion_global_mag_mean", "motion_global_mag_std"};
  for (const auto& m : kMaps)
    for (const auto& s : kMapStats) {
      names.push_back(m + "_" + s + "_mean");
      names.push_back(m + "_" + s + "_std");
    }
  names.push_back("temporal_motion_dev_max_ratio");
  names.push_back("temporal_motion_dev_top_share");
  return names;
}

struct Motion {
  std::vector<double> dx, dy;  // mean flow per cell
};

// Farneback with two_stream's parameters, on the frames' luma (OpenCV's RGB2GRAY on uint8:
// Python's cv2 computes the same field, which is what the numpy reference relies on).
Motion cellMotion(const unsigned char* a, const unsigned char* b, int width, int height, const Grid& g) {
  cv::Mat ra(height, width, CV_8UC3, const_cast<unsigned char*>(a)), rb(height, width, CV_8UC3, const_cast<unsigned char*>(b));
  cv::Mat ga, gb, flow;
  cv::cvtColor(ra, ga, cv::COLOR_RGB2GRAY);
  cv::cvtColor(rb, gb, cv::COLOR_RGB2GRAY);
  cv::calcOpticalFlowFarneback(ga, gb, flow, 0.5, 3, 15, 3, 5, 1.2, 0);
  Motion m{std::vector<double>(g.count(), 0.0), std::vector<double>(g.count(), 0.0)};
  for (int y = 0; y < g.rows * g.cell; ++y) {
    const cv::Point2f* row = flow.ptr<cv::Point2f>(y);
    const size_t base = static_cast<size_t>(y / g.cell) * g.cols;
    for (int x = 0; x < g.cols * g.cell; ++x) {
      m.dx[base + x / g.cell] += row[x].x;
      m.dy[base + x / g.cell] += row[x].y;
    }
  }
  const double pixels = static_cast<double>(g.cell) * g.cell;
  for (int c = 0; c < g.count(); ++c) m.dx[c] /= pixels, m.dy[c] /= pixels;
  return m;
}

// mean over cells, then cv, max_ratio and top_share of summarise().
std::vector<double> mapStats(const std::vector<double>& map) {
  double sum = 0;
  for (double v : map) sum += v;
  const std::vector<double> s = summarise(map);
  return {sum / map.size(), s[0], s[1], s[3]};
}

}  // namespace

const std::vector<std::string>& motionFeatureNames() {
  static const std::vector<std::string> names = buildNames();
  return names;
}

void appendMotionFeatures(std::vector<std::optional<double>>& out, const unsigned char* frames, int count, int width, int height) {
  const Grid g = gridFor(width, height);
  if (g.count() < 4) {
    out.insert(out.end(), motionFeatureNames().size(), std::nullopt);
    return;
  }
  const size_t frameBytes = static_cast<size_t>(width) * height * 3;
  std::vector<std::vector<double>> rows;  // per frame: |global|, then kMapStats of each map
  std::vector<double> neighbourSum(g.count(), 0.0);
  for (int i = 0; i < count; ++i) {
    const Motion m = cellMotion(frames + frameBytes * (2 * i), frames + frameBytes * (2 * i + 1), width, height, g);
    const double gx = median(m.dx), gy = median(m.dy);
    std::vector<double> cellDev(g.count()), neighbourDev(g.count());
    for (int r = 0; r < g.rows; ++r)
      for (int c = 0; c < g.cols; ++c) {
        const int k = r * g.cols + c;
        cellDev[k] = std::hypot(m.dx[k] - gx, m.dy[k] - gy);
        double nx = 0, ny = 0;
        int n = 0;
        for (const auto& [dr, dc] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
          const int rr = r + dr, cc = c + dc;
          if (rr < 0 || rr >= g.rows || cc < 0 || cc >= g.cols) continue;
          nx += m.dx[rr * g.cols + cc], ny += m.dy[rr * g.cols + cc], ++n;
        }
        neighbourDev[k] = std::hypot(m.dx[k] - nx / n, m.dy[k] - ny / n);
        neighbourSum[k] += neighbourDev[k];
      }
    std::vector<double> row = {std::hypot(gx, gy)};
    for (const auto* map : {&cellDev, &neighbourDev}) {
      const std::vector<double> s = mapStats(*map);
      row.insert(row.end(), s.begin(), s.end());
    }
    rows.push_back(std::move(row));
  }
  for (size_t k = 0; k < rows[0].size(); ++k) {
    double sum = 0, dev2 = 0;
    for (const auto& r : rows) sum += r[k];
    const double mean = sum / rows.size();
    for (const auto& r : rows) dev2 += (r[k] - mean) * (r[k] - mean);
    out.emplace_back(mean);
    out.emplace_back(std::sqrt(dev2 / rows.size()));
  }
  // A region out of step in every frame, not by chance in one.
  const std::vector<double> s = summarise(neighbourSum);
  out.emplace_back(s[1]);
  out.emplace_back(s[3]);
}

}  // namespace fvc
