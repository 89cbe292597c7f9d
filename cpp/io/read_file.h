#pragma once
#include <string>

namespace fvc {

// The whole of a regular file. A FIFO would block the read for ever and a device never
// end, so anything else is refused (ERR_INVALID_ARGUMENT); a missing or unreadable file
// is ERR_FILE_NOT_FOUND naming it.
std::string readRegularFile(const std::string& path);

}  // namespace fvc
