#pragma once
// A dense feature matrix and its labels, owned by the worker (classical_api.cpp copies
// them out of JS typed arrays). Row-major, rows x cols.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace fvc {

struct Dataset {
  std::vector<double> x;
  std::vector<double> y;  // empty when only predicting
  int rows = 0, cols = 0;
  const double* row(int i) const { return x.data() + static_cast<size_t>(i) * cols; }
};

// Writes a model through `save(tempPath)` and renames it into place.
void saveAtomically(const std::string& path, const std::function<bool(const std::string&)>& save);

}  // namespace fvc
