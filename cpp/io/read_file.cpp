#include "io/read_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/error.h"

namespace fvc {

std::string readRegularFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error(code::kInvalidArgument, path + ": not a regular file (a directory, FIFO, socket or device)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(code::kFileNotFound, path + ": cannot open (no such file or not readable)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace fvc
