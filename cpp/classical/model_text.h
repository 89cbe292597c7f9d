#pragma once
// The text model files of liblinear and libsvm, read by fvc before their own readers
// (which trust the file: fuzz/README.md lists what damaged files did to them).
#include <string>

namespace fvc {

// The whole file; ERR_INVALID_DATA naming `path` and `library` unless it is plain text
// (no NUL byte) ending in a complete line, as both libraries write it.
std::string readModelText(const std::string& path, const char* library);

// True when `word` is a whole number in C syntax and finite.
bool finiteNumber(const std::string& word);

}  // namespace fvc
