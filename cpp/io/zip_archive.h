#pragma once
// The entries of a zip archive held in memory, read without LibTorch or miniz: torch.save
// (PyTorch 1.6 on) writes its files as zip archives of stored records. Everything the
// archive declares is checked before it is trusted: the central directory and each local
// header lie inside the file, an entry's data range does not overflow or run past the end,
// its CRC-32 matches, and a compressed entry inflates to exactly its declared size. All
// compressed entries together may declare at most kMaxInflateRatio times the archive's
// size (plus 1 MiB), so that a small file cannot make the reader allocate gigabytes. Errors are ERR_INVALID_DATA naming the
// file and the entry.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fvc {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc = 0;
  uint64_t compressedSize = 0, size = 0;
  uint64_t dataOffset = 0;                      // of the entry's (compressed) bytes in the archive
  uint64_t localHeader = 0, centralHeader = 0;  // where its two headers start
};

// An entry's bytes: a view into the archive for a stored entry, or into `owned` for an
// inflated one (shared so that the view stays valid wherever the value is moved).
struct ZipData {
  std::string_view bytes;
  std::shared_ptr<const std::string> owned;
};

inline constexpr uint64_t kMaxInflateRatio = 64;

class ZipArchive {
 public:
  // `data` must outlive the archive and every ZipData read from it; errors call the file
  // "not a readable <what>".
  ZipArchive(std::string path, std::string_view data, std::string what = "zip archive");

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;
  ZipData read(const ZipEntry& entry) const;

 private:
  [[noreturn]] void fail(const std::string& why) const;
  std::string path_;
  std::string_view data_;
  std::string what_;
  std::vector<ZipEntry> entries_;
  // Name -> index, so that looking up every storage record stays linear in the archive.
  std::unordered_map<std::string, size_t> byName_;
};

// CRC-32 (zip's, ISO-HDLC) of `bytes`.
uint32_t crc32Of(std::string_view bytes);

}  // namespace fvc
