#include "io/safetensors.h"

#include <algorithm>
#include <cctype>
#include <tuple>

#include "common/error.h"

namespace fvc {
namespace {

// Just enough JSON for a safetensors header: objects, arrays, strings, integers;
// other values are skipped.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  std::vector<SafetensorsTensor> parse() {
    std::vector<SafetensorsTensor> out;
    expect('{');
    if (peek() == '}') return ++i_, out;
    for (;;) {
      std::string name = string();
      expect(':');
      if (name == "__metadata__") skipValue();
      else out.push_back(entry(name));
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return out;
    }
  }

 private:
  SafetensorsTensor entry(const std::string& name) {
    SafetensorsTensor e;
    e.name = name;
    std::vector<int64_t> offsets;
    bool hasShape = false;
    expect('{');
    for (;;) {
      std::string key = string();
      expect(':');
      if (key == "dtype") e.dtype = string();
      else if (key == "shape") e.shape = ints(), hasShape = true;
      else if (key == "data_offsets") offsets = ints();
      else skipValue();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      break;
    }
    if (e.dtype.empty() || !hasShape || offsets.size() != 2) fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    if (offsets[0] < 0 || offsets[1] < offsets[0]) fail("tensor '" + name + "' has a negative or reversed byte range");
    e.begin = static_cast<size_t>(offsets[0]);
    e.end = static_cast<size_t>(offsets[1]);
    return e;
  }
  // Integers only (shapes and offsets): an optional '-' then digits, overflow refused.
  std::vector<int64_t> ints() {
    std::vector<int64_t> v;
    expect('[');
    if (peek() == ']') return ++i_, v;
    for (;;) {
      ws();
      const bool negative = i_ < s_.size() && s_[i_] == '-';
      if (negative) ++i_;
      const size_t start = i_;
      int64_t x = 0;
      for (; i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])); ++i_)
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, s_[i_] - '0', &x)) fail("an integer out of range");
      if (start == i_) fail("expected an integer at byte " + std::to_string(i_));
      v.push_back(negative ? -x : x);
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect(']');
      return v;
    }
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }
  void skipValue() {
    char c = peek();
    if (c == '"') {
      string();
      return;
    }
    if (c == '{' || c == '[') {
      int depth = 0;
      bool inString = false;
      for (; i_ < s_.size(); ++i_) {
        char d = s_[i_];
        if (inString) {
          if (d == '\\') ++i_;
          else if (d == '"') inString = false;
        } else if (d == '"') inString = true;
        else if (d == '{' || d == '[') ++depth;
        else if ((d == '}' || d == ']') && --depth == 0) {
          ++i_;
          return;
        }
      }
      fail("unterminated value");
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']') ++i_;
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() {
    ws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at byte " + std::to_string(i_));
    ++i_;
  }
  [[noreturn]] void fail(const std::string& why) { throw Error(code::kInvalidData, path_ + ": not a safetensors file (header: " + why + ")"); }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

}  // namespace

size_t safetensorsElementSize(const std::string& d) {
  if (d == "F64" || d == "I64") return 8;
  if (d == "F32" || d == "I32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL") return 1;
  return 0;
}

SafetensorsLayout parseSafetensorsLayout(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 8) throw Error(code::kInvalidData, path + ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8)
    throw Error(code::kInvalidData, path + ": not a safetensors file (header length " + std::to_string(n) + " exceeds the file)");
  SafetensorsLayout layout;
  layout.dataStart = 8 + n;
  const size_t dataSize = bytes.size() - layout.dataStart;
  layout.tensors = HeaderParser(bytes.substr(8, n), path).parse();
  // The format requires the tensors' byte ranges to tile the data without overlap: two
  // tensors sharing bytes would be a damaged or crafted file, never a real state dict.
  std::vector<const SafetensorsTensor*> byStart;
  for (const auto& t : layout.tensors) byStart.push_back(&t);
  std::sort(byStart.begin(), byStart.end(), [](const auto* a, const auto* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  for (size_t i = 1; i < byStart.size(); ++i)
    if (byStart[i]->begin < byStart[i - 1]->end)
      throw Error(code::kInvalidData, path + ": tensors '" + byStart[i - 1]->name + "' and '" + byStart[i]->name +
                                          "' have overlapping data_offsets (the file is damaged)");
  for (SafetensorsTensor& t : layout.tensors) {
    t.elementSize = safetensorsElementSize(t.dtype);
    if (t.elementSize == 0) throw Error(code::kInvalidData, path + ": tensor '" + t.name + "' has unsupported dtype " + t.dtype);
    size_t need = t.elementSize;
    for (int64_t d : t.shape)
      if (d < 0 || __builtin_mul_overflow(need, static_cast<size_t>(d), &need))
        throw Error(code::kInvalidData, path + ": tensor '" + t.name + "' has an invalid shape (a negative or overflowing dimension)");
    if (t.end > dataSize || t.end - t.begin != need)
      throw Error(code::kInvalidData, path + ": tensor '" + t.name + "' has byte range [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                          ") that does not fit its shape or the file (truncated?)");
  }
  return layout;
}

}  // namespace fvc
