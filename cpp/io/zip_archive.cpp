#include "io/zip_archive.h"

#include <algorithm>
#include <array>

#include "common/error.h"

#ifdef FVC_HAVE_ZLIB
#include <zlib.h>
#endif

namespace fvc {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEnd = 0x06054b50;
constexpr uint32_t kEnd64 = 0x06064b50, kEnd64Locator = 0x07064b50;
// A zip's entry count bounds the reader's work: torch.save writes one per storage.
constexpr uint64_t kMaxEntries = 1'000'000;

uint64_t le(std::string_view d, uint64_t at, int n) {
  uint64_t v = 0;
  for (int k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(d[at + k]);
  return v;
}

}  // namespace

uint32_t crc32Of(std::string_view bytes) {
#ifdef FVC_HAVE_ZLIB
  uLong c = ::crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths.
  for (size_t at = 0; at < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - at, 1u << 30);
    c = ::crc32(c, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(c);
#else
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
#endif
}

void ZipArchive::fail(const std::string& why) const { throw Error(code::kInvalidData, path_ + ": not a readable " + what_ + " (" + why + ")"); }

ZipArchive::ZipArchive(std::string path, std::string_view data, std::string what) : path_(std::move(path)), data_(data), what_(std::move(what)) {
  const uint64_t size = data_.size();
  auto has = [&](uint64_t at, uint64_t n) { return at <= size && n <= size - at; };
  // The end record sits in the last 22 + 65535 bytes (its comment is at most 65535).
  if (size < 22) fail("too short");
  uint64_t end = size - 22;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (le(data_, end, 4) != kEnd) {
    if (end == lowest) fail("no end of central directory");
    --end;
  }
  uint64_t count = le(data_, end + 10, 2), dirSize = le(data_, end + 12, 4), dirOffset = le(data_, end + 16, 4);
  if (count == 0xffff || dirSize == 0xffffffff || dirOffset == 0xffffffff) {
    // Zip64: the locator precedes the end record and points at the 64-bit end record.
    if (end < 20 || le(data_, end - 20, 4) != kEnd64Locator) fail("zip64 end record locator missing");
    const uint64_t at = le(data_, end - 20 + 8, 8);
    if (!has(at, 56) || le(data_, at, 4) != kEnd64) fail("zip64 end record out of place");
    count = le(data_, at + 32, 8), dirSize = le(data_, at + 40, 8), dirOffset = le(data_, at + 48, 8);
  }
  if (count > kMaxEntries) fail(std::to_string(count) + " entries (more than " + std::to_string(kMaxEntries) + ")");
  if (!has(dirOffset, dirSize) || count * 46 > dirSize) fail("central directory outside the file");
  entries_.reserve(count);
  // Real weights hardly compress; a file that would inflate past this is a bomb.
  const uint64_t inflateBudget = kMaxInflateRatio * size + (1u << 20);
  uint64_t inflated = 0;
  uint64_t at = dirOffset;
  const uint64_t dirEnd = dirOffset + dirSize;
  for (uint64_t k = 0; k < count; ++k) {
    if (at + 46 > dirEnd || le(data_, at, 4) != kCentralHeader) fail("central directory entry " + std::to_string(k) + " damaged");
    ZipEntry e;
    const uint64_t flags = le(data_, at + 8, 2);
    e.method = static_cast<uint16_t>(le(data_, at + 10, 2));
    e.crc = static_cast<uint32_t>(le(data_, at + 16, 4));
    e.compressedSize = le(data_, at + 20, 4);
    e.size = le(data_, at + 24, 4);
    const uint64_t nameLen = le(data_, at + 28, 2), extraLen = le(data_, at + 30, 2), commentLen = le(data_, at + 32, 2);
    uint64_t local = le(data_, at + 42, 4);
    if (at + 46 + nameLen + extraLen + commentLen > dirEnd) fail("central directory entry " + std::to_string(k) + " runs past the directory");
    e.name.assign(data_.substr(at + 46, nameLen));
    if (flags & 1) fail(e.name + " is encrypted");
    // Zip64 sizes and offset, in this order, for each field saturated at 0xffffffff.
    for (uint64_t x = at + 46 + nameLen, xEnd = x + extraLen; x + 4 <= xEnd;) {
      const uint64_t id = le(data_, x, 2), len = le(data_, x + 2, 2);
      if (x + 4 + len > xEnd) fail(e.name + ": extra field runs past its entry");
      if (id == 1) {
        uint64_t f = x + 4;
        auto next = [&](uint64_t& v) {
          if (v != 0xffffffff) return;
          if (f + 8 > x + 4 + len) fail(e.name + ": zip64 field too short");
          v = le(data_, f, 8);
          f += 8;
        };
        next(e.size);
        next(e.compressedSize);
        next(local);
      }
      x += 4 + len;
    }
    if (!has(local, 30) || le(data_, local, 4) != kLocalHeader) fail(e.name + ": local header out of place");
    e.localHeader = local;
    e.centralHeader = at;
    e.dataOffset = local + 30 + le(data_, local + 26, 2) + le(data_, local + 28, 2);
    if (!has(e.dataOffset, e.compressedSize)) fail(e.name + ": data runs past the end of the file (truncated?)");
    if (e.method == 0 && e.compressedSize != e.size) fail(e.name + ": stored entry with two sizes");
    if (e.method != 0 && e.method != 8) fail(e.name + ": compression method " + std::to_string(e.method) + " is not supported");
    if (e.method == 8) {
      inflated += e.size;
      if (e.size > inflateBudget || inflated > inflateBudget)
        fail(e.name + ": its compressed entries declare " + std::to_string(inflated) + " bytes in a file of " + std::to_string(size) +
             ", more than " + std::to_string(kMaxInflateRatio) + " times its size (a decompression bomb?)");
    }
    byName_.emplace(e.name, entries_.size());
    entries_.push_back(std::move(e));
    at += 46 + nameLen + extraLen + commentLen;
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  // The first entry of a name, as a linear search would find it.
  auto it = byName_.find(std::string(name));
  return it == byName_.end() ? nullptr : &entries_[it->second];
}

ZipData ZipArchive::read(const ZipEntry& e) const {
  ZipData out;
  const std::string_view raw = data_.substr(e.dataOffset, e.compressedSize);
  if (e.method == 0) {
    out.bytes = raw;
  } else {
#ifdef FVC_HAVE_ZLIB
    auto buf = std::make_shared<std::string>(e.size, '\0');
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(e.name + ": cannot start inflating");
    // Inflated into exactly the declared size; output beyond it is a lie, not more to read.
    char spare = 0;
    int rc = Z_OK;
    uint64_t in = 0, produced = 0;
    while (rc == Z_OK) {
      const uint64_t inChunk = std::min<uint64_t>(raw.size() - in, 1u << 30);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data() + in));
      z.avail_in = static_cast<uInt>(inChunk);
      const bool full = produced == e.size;
      const uint64_t outChunk = full ? 1 : std::min<uint64_t>(e.size - produced, 1u << 30);
      z.next_out = reinterpret_cast<Bytef*>(full ? &spare : buf->data() + produced);
      z.avail_out = static_cast<uInt>(outChunk);
      rc = inflate(&z, Z_NO_FLUSH);
      in += inChunk - z.avail_in;
      produced += outChunk - z.avail_out;
      // Z_BUF_ERROR: no progress possible, the compressed bytes ended early.
      if (produced > e.size || rc == Z_BUF_ERROR) break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || produced != e.size)
      fail(e.name + ": inflates to " + (produced > e.size ? "more than" : std::to_string(produced) + " bytes, not") + " its declared " +
           std::to_string(e.size) + " bytes");
    out.owned = buf;
    out.bytes = *buf;
#else
    fail(e.name + ": compressed entries need fvc built with zlib; torch.save writes them stored");
#endif
  }
  if (crc32Of(out.bytes) != e.crc) fail(e.name + ": CRC-32 mismatch (the file is damaged)");
  return out;
}

}  // namespace fvc
