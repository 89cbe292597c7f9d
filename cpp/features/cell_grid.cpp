#include "features/cell_grid.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace fvc {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const std::vector<std::string>& mapSummaryNames() {
  static const std::vector<std::string> names = {"cv", "max_ratio", "min_ratio", "top_share", "entropy"};
  return names;
}

Grid gridFor(int width, int height) {
  Grid g;
  g.cell = 8 * std::max(1, static_cast<int>(std::lround(std::min(width, height) / 64.0)));
  g.cols = width / g.cell;
  g.rows = height / g.cell;
  return g;
}

std::vector<double> summarise(const std::vector<double>& m) {
  const double n = static_cast<double>(m.size());
  double sum = 0, dev2 = 0;
  for (double v : m) sum += v;
  const double mean = sum / n;
  for (double v : m) dev2 += (v - mean) * (v - mean);  // two passes: exactly 0 for a flat map
  const double sd = std::sqrt(dev2 / n);
  const double med = median(m);
  const auto [lo, hi] = std::minmax_element(m.begin(), m.end());
  std::vector<double> sorted(m);
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  const size_t top = static_cast<size_t>(std::ceil(n / 10.0));
  double topSum = 0;
  for (size_t i = 0; i < top; ++i) topSum += sorted[i];
  double entropy = 0;
  for (double v : m)
    if (sum > 0 && v > 0) entropy -= (v / sum) * std::log(v / sum);
  return {
      mean > 0 ? sd / mean : 0.0,       std::log((*hi + kRatioEps) / (med + kRatioEps)), std::log((*lo + kRatioEps) / (med + kRatioEps)),
      sum > 0 ? topSum / sum : top / n, sum > 0 ? entropy / std::log(n) : 1.0,
  };
}

}  // namespace fvc
