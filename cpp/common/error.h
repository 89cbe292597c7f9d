#pragma once
// Errors that cross into JS. Every failure inside the core is thrown as fvc::Error
// with a stable machine-readable code; the worker base turns it into a JS Error
// whose `code` property callers can switch on. Messages name the file or
// parameter at fault so a user can act on them without a debugger.
#include <stdexcept>
#include <string>

namespace fvc {

namespace code {
inline constexpr const char* kFileNotFound = "ERR_FILE_NOT_FOUND";
inline constexpr const char* kEmptyFile = "ERR_EMPTY_FILE";
inline constexpr const char* kInvalidData = "ERR_INVALID_DATA";
inline constexpr const char* kNoVideoStream = "ERR_NO_VIDEO_STREAM";
inline constexpr const char* kUnsupportedCodec = "ERR_UNSUPPORTED_CODEC";
inline constexpr const char* kDecode = "ERR_DECODE";
inline constexpr const char* kIo = "ERR_IO";
inline constexpr const char* kAborted = "ERR_ABORTED";
inline constexpr const char* kTimeout = "ERR_TIMEOUT";
inline constexpr const char* kInvalidArgument = "ERR_INVALID_ARGUMENT";
inline constexpr const char* kTorch = "ERR_TORCH";
inline constexpr const char* kNative = "ERR_NATIVE";
inline constexpr const char* kModel = "ERR_MODEL";              // a model library (XGBoost, liblinear, libsvm) refused or failed
inline constexpr const char* kDistributed = "ERR_DISTRIBUTED";  // a rank of a data-parallel job stopped, timed out or was not reachable
}  // namespace code

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

}  // namespace fvc
