#pragma once
// The layout of a .safetensors file (Hugging Face's format, read without the library):
// an 8-byte little-endian header length, a JSON header of name -> dtype, shape and
// byte range, then the raw data. Parsed and validated here without LibTorch, so the
// sanitizer and fuzz driver (cpp/tools/native_check.cpp) exercises exactly the code
// that reads users' weights files; torch/tensor_io.cpp turns the layout into tensors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fvc {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32", "BF16", ...
  size_t elementSize = 0;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte range relative to the data section
};

struct SafetensorsLayout {
  size_t dataStart = 0;                    // offset of the data section in the file
  std::vector<SafetensorsTensor> tensors;  // in header order
};

// Bytes per element of a safetensors dtype name; 0 for a name fvc does not read.
size_t safetensorsElementSize(const std::string& dtype);

// Every tensor's byte range checked against its dtype and shape, the file's size and
// the other tensors' ranges (the format forbids overlaps). Throws ERR_INVALID_DATA
// naming `path` and the tensor at fault.
SafetensorsLayout parseSafetensorsLayout(const std::string& path, const std::string& bytes);

}  // namespace fvc
