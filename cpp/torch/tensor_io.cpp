#include "torch/tensor_io.h"

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <sys/stat.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "torch/torch_pickle.h"

namespace fvc::deep {
namespace {

std::string readAll(const std::string& path) {
  struct stat st {};
  // A FIFO would block the read for ever, a device never end.
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error(code::kInvalidArgument, path + ": not a regular file (a directory, FIFO, socket or device)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(code::kFileNotFound, path + ": cannot open (no such file or not readable)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Just enough JSON for a safetensors header: objects, arrays, strings, integers;
// other values are skipped.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<int64_t> offsets;
  };

  std::vector<std::pair<std::string, Entry>> parse() {
    std::vector<std::pair<std::string, Entry>> out;
    expect('{');
    if (peek() == '}') return ++i_, out;
    for (;;) {
      std::string name = string();
      expect(':');
      if (name == "__metadata__") skipValue();
      else out.emplace_back(name, entry(name));
      if (peek() == ',') { ++i_; continue; }
      expect('}');
      return out;
    }
  }

 private:
  Entry entry(const std::string& name) {
    Entry e;
    expect('{');
    for (;;) {
      std::string key = string();
      expect(':');
      if (key == "dtype") e.dtype = string();
      else if (key == "shape") e.shape = ints();
      else if (key == "data_offsets") e.offsets = ints();
      else skipValue();
      if (peek() == ',') { ++i_; continue; }
      expect('}');
      break;
    }
    if (e.dtype.empty() || e.offsets.size() != 2) fail("tensor '" + name + "' lacks dtype or data_offsets");
    return e;
  }
  std::vector<int64_t> ints() {
    std::vector<int64_t> v;
    expect('[');
    if (peek() == ']') return ++i_, v;
    for (;;) {
      ws();
      size_t start = i_;
      while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-')) ++i_;
      if (start == i_) fail("expected an integer");
      v.push_back(std::stoll(s_.substr(start, i_ - start)));
      if (peek() == ',') { ++i_; continue; }
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
    if (c == '"') { string(); return; }
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
        else if ((d == '}' || d == ']') && --depth == 0) { ++i_; return; }
      }
      fail("unterminated value");
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']') ++i_;
  }
  void ws() { while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_; }
  char peek() { ws(); return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' at byte " + std::to_string(i_));
    ++i_;
  }
  [[noreturn]] void fail(const std::string& why) { throw Error(code::kInvalidData, path_ + ": not a safetensors file (header: " + why + ")"); }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

torch::Dtype dtypeOf(const std::string& d, const std::string& path, const std::string& name) {
  if (d == "F32") return torch::kFloat32;
  if (d == "F64") return torch::kFloat64;
  if (d == "F16") return torch::kFloat16;
  if (d == "BF16") return torch::kBFloat16;
  if (d == "I64") return torch::kInt64;
  if (d == "I32") return torch::kInt32;
  if (d == "I16") return torch::kInt16;
  if (d == "I8") return torch::kInt8;
  if (d == "U8") return torch::kUInt8;
  if (d == "BOOL") return torch::kBool;
  throw Error(code::kInvalidData, path + ": tensor '" + name + "' has unsupported dtype " + d);
}

std::string dtypeName(torch::Dtype d) {
  switch (d) {
    case torch::kFloat32: return "F32";
    case torch::kFloat64: return "F64";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default: throw Error(code::kInvalidArgument, "safetensors: unsupported tensor type");
  }
}

}  // namespace

namespace {

std::map<std::string, torch::Tensor> parseSafetensors(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 8) throw Error(code::kInvalidData, path + ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8) throw Error(code::kInvalidData, path + ": not a safetensors file (header length " + std::to_string(n) + " exceeds the file)");
  std::string header = bytes.substr(8, n);
  const size_t dataStart = 8 + n;
  const size_t dataSize = bytes.size() - dataStart;
  std::map<std::string, torch::Tensor> out;
  auto entries = HeaderParser(header, path).parse();
  // The format requires the tensors' byte ranges to tile the data without overlap: two
  // tensors sharing bytes would be a damaged or crafted file, never a real state dict.
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> ranges;
  for (auto& [name, e] : entries) ranges.push_back({{e.offsets[0], e.offsets[1]}, name});
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first.first < ranges[i - 1].first.second)
      throw Error(code::kInvalidData, path + ": tensors '" + ranges[i - 1].second + "' and '" + ranges[i].second + "' have overlapping data_offsets (the file is damaged)");
  for (auto& [name, e] : entries) {
    torch::Dtype dt = dtypeOf(e.dtype, path, name);
    int64_t count = 1;
    for (int64_t d : e.shape) count *= d;
    const int64_t begin = e.offsets[0], end = e.offsets[1];
    const int64_t expected = count * static_cast<int64_t>(torch::elementSize(dt));
    if (begin < 0 || end < begin || static_cast<uint64_t>(end) > dataSize || end - begin != expected)
      throw Error(code::kInvalidData, path + ": tensor '" + name + "' has byte range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                           ") that does not fit its shape or the file (truncated?)");
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(dt));
    std::memcpy(t.data_ptr(), bytes.data() + dataStart + begin, static_cast<size_t>(expected));
    out.emplace(name, t);
  }
  return out;
}

}  // namespace

std::map<std::string, torch::Tensor> loadSafetensors(const std::string& path) { return parseSafetensors(path, readAll(path)); }

namespace {

// A torch.save file holds whatever object was saved: a bare state dict, or a training
// checkpoint with the state dict under one of these keys (PyTorchVideo's hub files use
// model_state, Lightning state_dict).
const char* const kNestedKeys[] = {"state_dict", "model_state", "model", "module"};

// nn.DataParallel saves every name under "module."; the model itself has none.
std::map<std::string, torch::Tensor> stripDataParallel(std::map<std::string, torch::Tensor> in) {
  const std::string prefix = "module.";
  for (const auto& [name, _] : in)
    if (name.rfind(prefix, 0) != 0) return in;
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : in) out.emplace(name.substr(prefix.size()), std::move(t));
  return out;
}

std::map<std::string, torch::Tensor> loadTorchSave(const std::string& path, const std::string& bytes) {
  TorchSaveFile f = readTorchSave(path, bytes);
  for (const char* key : kNestedKeys)
    if (f.dicts.count(key)) return stripDataParallel(std::move(f.dicts[key]));
  if (!f.dicts.count("")) throw Error(code::kInvalidData, path + ": no state dict at its top level or under " + "state_dict / model_state / model / module");
  return stripDataParallel(std::move(f.dicts[""]));
}

}  // namespace

std::map<std::string, torch::Tensor> loadWeights(const std::string& path) {
  const std::string bytes = readAll(path);
  // torch.save has written a zip archive since PyTorch 1.6; before, a bare pickle stream.
  const bool zip = bytes.rfind("PK\x03\x04", 0) == 0;
  const bool legacyPickle = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && static_cast<unsigned char>(bytes[1]) <= 5;
  return zip || legacyPickle ? loadTorchSave(path, bytes) : stripDataParallel(parseSafetensors(path, bytes));
}

void saveSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors) {
  std::string header = "{";
  int64_t offset = 0;
  std::vector<torch::Tensor> contiguous;
  for (auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const int64_t size = c.numel() * static_cast<int64_t>(c.element_size());
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"" + dtypeName(c.scalar_type()) + "\",\"shape\":[";
    for (int64_t i = 0; i < c.dim(); ++i) header += (i ? "," : "") + std::to_string(c.size(i));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + size) + "]}";
    offset += size;
    contiguous.push_back(c);
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  for (auto& c : contiguous) out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  writeFileAtomic(path, out.data(), out.size());
}

namespace {

torch::Tensor loadNpy(const std::string& path, const char* descr, torch::Dtype dtype, const char* typeName) {
  std::string bytes = readAll(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw Error(code::kInvalidData, path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen = 0, headerStart = 10;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  } else {
    if (bytes.size() < 12) throw Error(code::kInvalidData, path + ": truncated .npy header");
    for (int i = 3; i >= 0; --i) headerLen = (headerLen << 8) | static_cast<unsigned char>(bytes[8 + i]);
    headerStart = 12;
  }
  if (headerStart + headerLen > bytes.size()) throw Error(code::kInvalidData, path + ": truncated .npy header");
  std::string h = bytes.substr(headerStart, headerLen);
  if (h.find(std::string("'descr': '") + descr + "'") == std::string::npos)
    throw Error(code::kInvalidData, path + ": the array must be " + typeName + " ('" + descr + "'); header: " + h.substr(0, h.find('}') + 1));
  if (h.find("'fortran_order': True") != std::string::npos) throw Error(code::kInvalidData, path + ": Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
  size_t a = h.find('('), b = h.find(')');
  if (a == std::string::npos || b == std::string::npos) throw Error(code::kInvalidData, path + ": .npy header has no shape");
  std::vector<int64_t> shape;
  std::stringstream ss(h.substr(a + 1, b - a - 1));
  std::string item;
  int64_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    shape.push_back(std::stoll(item));
    count *= shape.back();
  }
  const size_t dataStart = headerStart + headerLen;
  const size_t need = static_cast<size_t>(count) * torch::elementSize(dtype);
  if (bytes.size() - dataStart != need)
    throw Error(code::kInvalidData, path + ": holds " + std::to_string(bytes.size() - dataStart) + " data bytes, its shape needs " + std::to_string(need));
  torch::Tensor t = torch::empty(shape, dtype);
  std::memcpy(t.data_ptr(), bytes.data() + dataStart, need);
  return t;
}

}  // namespace

torch::Tensor loadNpyFloat32(const std::string& path) { return loadNpy(path, "<f4", torch::kFloat32, "float32"); }

torch::Tensor loadNpyUint8(const std::string& path) { return loadNpy(path, "|u1", torch::kUInt8, "uint8"); }

}  // namespace fvc::deep
