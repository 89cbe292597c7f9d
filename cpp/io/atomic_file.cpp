#include "io/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace fvc {
namespace {
std::atomic<unsigned> counter{0};

std::string host() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  std::string h(name);
  for (char& c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  return h;
}

[[noreturn]] void ioFail(const std::string& path, const char* what) {
  throw Error(code::kIo, path + ": cannot " + what + " (" + std::strerror(errno) + ")");
}
}  // namespace

std::string temporaryName(const std::string& path) {
  static const std::string self = "@" + host() + "-";
  return path + ".tmp-" + std::to_string(::getpid()) + self + std::to_string(counter++);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temp_ = temporaryName(path_);
  file_ = std::fopen(temp_.c_str(), "wb");
  if (file_ == nullptr) ioFail(path_, "create file");
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) ioFail(path_, "write");
}

void AtomicFile::commit() {
  FILE* f = file_;
  file_ = nullptr;
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) {
    std::fclose(f);
    ioFail(path_, "write");
  }
  if (std::fclose(f) != 0) ioFail(path_, "close");
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) ioFail(path_, "rename temporary file into place");
  committed_ = true;
}

void writeFileAtomic(const std::string& path, const void* data, size_t size) {
  AtomicFile f(path);
  f.write(data, size);
  f.commit();
}

}  // namespace fvc
