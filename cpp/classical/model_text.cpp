#include "classical/model_text.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace fvc {

std::string readModelText(const std::string& path, const char* library) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(code::kFileNotFound, path + ": cannot open the " + library + " model file");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const std::string damaged = path + ": damaged " + library + " model (";
  if (text.empty() || text.back() != '\n') throw Error(code::kInvalidData, damaged + "it does not end with a complete line)");
  if (text.find('\0') != std::string::npos)
    throw Error(code::kInvalidData, damaged + "a NUL byte at offset " + std::to_string(text.find('\0')) + ")");
  return text;
}

bool finiteNumber(const std::string& word) {
  if (word.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  return end == word.c_str() + word.size() && std::isfinite(v);
}

}  // namespace fvc
