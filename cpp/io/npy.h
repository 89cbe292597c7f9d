#pragma once
// NumPy .npy arrays: a format 1.0 writer for uint8 / float32 arrays (atomic), and the
// header check behind every .npy fvc reads (torch/tensor_io.cpp), kept free of LibTorch
// so the sanitizer and fuzz driver exercises it.
#include <cstdint>
#include <string>
#include <vector>

namespace fvc {

enum class NpyType { Uint8, Float32 };

std::string npyHeader(NpyType type, const std::vector<int64_t>& shape);
void writeNpy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data);

struct NpyLayout {
  std::vector<int64_t> shape;
  size_t dataStart = 0, dataBytes = 0;
};

// The header of a C-ordered .npy array (format 1.x / 2.x / 3.x) of the given NumPy
// type (descr "<f4", "|u1"), checked against the file's size. Throws
// ERR_INVALID_DATA naming `path` and the cause.
NpyLayout parseNpyLayout(const std::string& path, const std::string& bytes, const std::string& descr, const char* typeName, size_t elementSize);

}  // namespace fvc
