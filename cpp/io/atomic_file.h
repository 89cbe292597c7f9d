#pragma once
// Files appear complete or not at all: content goes to a temporary name beside
// the target and is renamed over it only after a successful write, so an
// interrupted run never leaves a truncated file where a finished one is expected.
#include <cstdio>
#include <string>

namespace fvc {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void commit();
  const std::string& tempPath() const { return temp_; }

 private:
  std::string path_, temp_;
  FILE* file_ = nullptr;
  bool committed_ = false;
};

// `<path>.tmp-<pid>@<host>-<n>`: never the final extension (a glob for the finished
// files must not match it), and naming its process so a later run can remove the
// leftovers of dead ones (ts/util/fs.ts reads the same form).
std::string temporaryName(const std::string& path);

// Atomically replace `path` with `size` bytes.
void writeFileAtomic(const std::string& path, const void* data, size_t size);

}  // namespace fvc
