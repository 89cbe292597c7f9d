#include "io/npy.h"

#include <cctype>

#include "common/error.h"
#include "io/atomic_file.h"

namespace fvc {

std::string npyHeader(NpyType type, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '";
  dict += type == NpyType::Uint8 ? "|u1" : "<f4";
  dict += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    dict += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  return out + dict;
}

void writeNpy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data) {
  size_t count = 1;
  for (int64_t d : shape) count *= static_cast<size_t>(d);
  size_t bytes = count * (type == NpyType::Uint8 ? 1 : 4);
  std::string header = npyHeader(type, shape);
  AtomicFile f(path);
  f.write(header.data(), header.size());
  f.write(data, bytes);
  f.commit();
}

NpyLayout parseNpyLayout(const std::string& path, const std::string& bytes, const std::string& descr, const char* typeName, size_t elementSize) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw Error(code::kInvalidData, path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen = 0, headerStart = 10;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(code::kInvalidData, path + ": truncated .npy header");
    for (int i = 3; i >= 0; --i) headerLen = (headerLen << 8) | static_cast<unsigned char>(bytes[8 + i]);
    headerStart = 12;
  } else {
    throw Error(code::kInvalidData, path + ": .npy format version " + std::to_string(major) + " is not 1, 2 or 3");
  }
  if (headerLen > bytes.size() - headerStart) throw Error(code::kInvalidData, path + ": truncated .npy header");
  const std::string h = bytes.substr(headerStart, headerLen);
  if (h.find("'descr': '" + descr + "'") == std::string::npos)
    throw Error(code::kInvalidData, path + ": the array must be " + typeName + " ('" + descr + "'); header: " + h.substr(0, h.find('}') + 1));
  if (h.find("'fortran_order': True") != std::string::npos)
    throw Error(code::kInvalidData, path + ": Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
  const size_t key = h.find("'shape':");
  const size_t a = key == std::string::npos ? key : h.find('(', key);
  const size_t b = a == std::string::npos ? a : h.find(')', a);
  if (b == std::string::npos) throw Error(code::kInvalidData, path + ": .npy header has no shape");
  NpyLayout out;
  size_t need = elementSize;
  // "(3, 4)", "(3,)" or "()": integers separated by commas, a trailing comma allowed.
  for (size_t i = a + 1; i < b;) {
    while (i < b && (h[i] == ' ' || h[i] == ',')) ++i;
    if (i == b) break;
    int64_t d = 0;
    bool overflow = false;
    const size_t start = i;
    for (; i < b && std::isdigit(static_cast<unsigned char>(h[i])); ++i)
      overflow = overflow || __builtin_mul_overflow(d, 10, &d) || __builtin_add_overflow(d, h[i] - '0', &d);
    if (start == i || overflow || (i < b && h[i] != ',' && h[i] != ' ') || __builtin_mul_overflow(need, static_cast<size_t>(d), &need))
      throw Error(code::kInvalidData, path + ": .npy header has an invalid shape " + h.substr(a, b - a + 1));
    out.shape.push_back(d);
  }
  out.dataStart = headerStart + headerLen;
  out.dataBytes = need;
  if (bytes.size() - out.dataStart != need)
    throw Error(code::kInvalidData,
                path + ": holds " + std::to_string(bytes.size() - out.dataStart) + " data bytes, its shape needs " + std::to_string(need));
  return out;
}

}  // namespace fvc
