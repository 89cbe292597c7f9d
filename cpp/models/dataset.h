#pragma once
// A dense feature matrix and its labels, copied out of JS typed arrays on the JS
// thread so the worker owns them. Row-major, rows x cols.
#include <napi.h>

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

// Reads `<prefix>` (Float64Array of rows*cols), `<prefix>Rows`, `cols` and, when
// labelKey is given, the labels (Float64Array of 0/1). Rejects NaN/inf with the
// row and column, since every model library would silently misbehave on them.
Dataset readDataset(const Napi::Object& o, const char* xKey, const char* rowsKey, const char* labelKey);

// Writes a model through `save(tempPath)` and renames it into place.
void saveAtomically(const std::string& path, const std::function<bool(const std::string&)>& save);

}  // namespace fvc
