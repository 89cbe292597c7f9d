#pragma once
// NumPy .npy (format 1.0) writer for uint8 / float32 arrays, written atomically.
#include <cstdint>
#include <string>
#include <vector>

namespace fvc {

enum class NpyType { Uint8, Float32 };

std::string npyHeader(NpyType type, const std::vector<int64_t>& shape);
void writeNpy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data);

}  // namespace fvc
