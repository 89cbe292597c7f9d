#pragma once
// The grid of cells local features are measured on (README "Local features"), and how a
// per-cell map is summarised by the way it varies across the frame. Shared by the
// local statistics (schema 2) and the motion ones (schema 3).
#include <string>
#include <vector>

namespace fvc {

// Square cells of 8k pixels (aligned with the 8x8 coding grid), about 64 px per 8 cells
// of the shorter side; partial cells at the right and bottom edges are left out.
struct Grid {
  int cell = 8, cols = 0, rows = 0;
  int count() const { return cols * rows; }
};

Grid gridFor(int width, int height);

double median(std::vector<double> values);  // of the middle two for an even count

// kSummaries order: coefficient of variation; log of max and of min over the median
// (kRatioEps keeps flat maps finite); the share of the total held by the top tenth of
// cells; Shannon entropy of the map as a distribution, over log(cells) (1 = uniform).
inline constexpr double kRatioEps = 1e-3;
const std::vector<std::string>& mapSummaryNames();
std::vector<double> summarise(const std::vector<double>& map);

}  // namespace fvc
