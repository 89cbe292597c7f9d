#include "models/dataset.h"

#include <unistd.h>

#include <atomic>
#include <cmath>

#include "common/error.h"
#include "common/options.h"

namespace fvc {
namespace {

std::vector<double> readFloat64(const Napi::Object& o, const char* key) {
  if (!opts::has(o, key)) throw Error(code::kInvalidArgument, std::string(key) + ": is required");
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Error(code::kInvalidArgument, std::string(key) + ": must be a Float64Array");
  auto a = v.As<Napi::Float64Array>();
  return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}

std::atomic<unsigned> counter{0};

}  // namespace

Dataset readDataset(const Napi::Object& o, const char* xKey, const char* rowsKey, const char* labelKey) {
  Dataset d;
  d.cols = opts::getInt(o, "cols", 0, 1, 1 << 24);
  d.rows = opts::getInt(o, rowsKey, 0, 1, 1 << 30);
  d.x = readFloat64(o, xKey);
  if (d.x.size() != static_cast<size_t>(d.rows) * d.cols)
    throw Error(code::kInvalidArgument, std::string(xKey) + ": holds " + std::to_string(d.x.size()) + " values, not " +
                                            std::to_string(d.rows) + " rows x " + std::to_string(d.cols) + " columns");
  for (size_t i = 0; i < d.x.size(); ++i)
    if (!std::isfinite(d.x[i]))
      throw Error(code::kInvalidData, std::string(xKey) + ": row " + std::to_string(i / d.cols) + ", column " +
                                          std::to_string(i % d.cols) + " is not a finite number");
  if (labelKey != nullptr) {
    d.y = readFloat64(o, labelKey);
    if (d.y.size() != static_cast<size_t>(d.rows))
      throw Error(code::kInvalidArgument, std::string(labelKey) + ": " + std::to_string(d.y.size()) + " labels for " +
                                              std::to_string(d.rows) + " rows");
    for (size_t i = 0; i < d.y.size(); ++i)
      if (d.y[i] != 0.0 && d.y[i] != 1.0)
        throw Error(code::kInvalidData, std::string(labelKey) + ": row " + std::to_string(i) + " is not 0 or 1");
  }
  return d;
}

void saveAtomically(const std::string& path, const std::function<bool(const std::string&)>& save) {
  // The extension is kept: XGBoost picks its format (JSON or UBJSON) from it.
  size_t dot = path.find_last_of("./");
  std::string ext = dot != std::string::npos && path[dot] == '.' ? path.substr(dot) : std::string();
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext;
  if (!save(tmp)) {
    std::remove(tmp.c_str());
    throw Error(code::kIo, path + ": cannot write the model file");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(code::kIo, path + ": cannot rename the model file into place");
  }
}

}  // namespace fvc
