#include "classical/dataset.h"

#include <unistd.h>

#include <atomic>

#include "common/error.h"

namespace fvc {
namespace {

std::atomic<unsigned> counter{0};

}  // namespace

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
