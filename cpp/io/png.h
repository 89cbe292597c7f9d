#pragma once
#include <cstdint>
#include <string>

namespace fvc {

// Encode one packed RGB image as PNG at `path` (atomically).
void writePngRgb(const std::string& path, const uint8_t* rgb, int width, int height);

}  // namespace fvc
