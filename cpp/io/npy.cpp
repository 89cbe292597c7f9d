#include "io/npy.h"

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

}  // namespace fvc
