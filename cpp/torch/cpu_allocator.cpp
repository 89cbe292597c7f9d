#include "torch/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/version.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fvc::torchrt {
namespace {

constexpr size_t kMinCached = size_t{1} << 20;
constexpr size_t kGranule = size_t{64} << 10;

// LibTorch 2.3 made c10::Allocator::allocate non-const; 1.13 (Debian) has it const.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define FVC_ALLOCATE_CONST
#else
#define FVC_ALLOCATE_CONST const
#endif

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t cap) : cap_(cap) {}

  c10::DataPtr allocate(size_t n) FVC_ALLOCATE_CONST override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, cpu};
    }
    void* p = take(n);
    return {p, p, &CachingCpuAllocator::deleter, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::deleter; }
  // Pure virtual in LibTorch 2.x (Storage clones go through it), absent in 1.13: no
  // `override`, so one definition serves both.
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  void releaseAll() const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, p] : free_) c10::free_cpu(p);
    free_.clear();
    cached_ = 0;
  }

  CpuCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {cached_, live_bytes_, hits_, misses_};
  }

  static CachingCpuAllocator* instance;

 private:
  static void deleter(void* p) { instance->give(p); }

  void* take(size_t n) const {
    const size_t size = (n + kGranule - 1) / kGranule * kGranule;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The smallest cached block that fits, if it wastes at most an eighth.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 8) {
        void* p = it->second;
        live_[p] = it->first;
        live_bytes_ += it->first;
        cached_ -= it->first;
        free_.erase(it);
        ++hits_;
        return p;
      }
      ++misses_;
    }
    void* p;
    try {
      p = c10::alloc_cpu(size);
    } catch (const c10::Error&) {
      releaseAll();  // memory held for reuse is better spent on this request
      p = c10::alloc_cpu(size);
    }
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = size;
    live_bytes_ += size;
    return p;
  }

  void give(void* p) const {
    if (!p) return;
    std::unique_lock<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block given back through raw_deleter()
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    live_.erase(it);
    live_bytes_ -= size;
    free_.emplace(size, p);
    cached_ += size;
    // Over the cap: the largest blocks go first, freeing the most for the fewest calls.
    while (cached_ > cap_ && !free_.empty()) {
      auto last = std::prev(free_.end());
      cached_ -= last->first;
      c10::free_cpu(last->second);
      free_.erase(last);
    }
  }

  // allocate() is const in LibTorch 1.13: the cache's state is mutable behind its mutex.
  const size_t cap_;
  mutable std::mutex mu_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable std::multimap<size_t, void*> free_;
  mutable uint64_t cached_ = 0, live_bytes_ = 0, hits_ = 0, misses_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

size_t capFromEnv() {
  if (const char* v = std::getenv("FVC_CPU_CACHE_MB"); v && *v) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(v, &end, 10);
    if (end && *end == '\0') return static_cast<size_t>(mb) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : size_t{4} << 30;
}

}  // namespace

void installCpuCache() {
  static std::once_flag once;
  std::call_once(once, [] {
    const size_t cap = capFromEnv();
    if (cap == 0) return;
    // Never destroyed: tensors may outlive static destruction at exit.
    CachingCpuAllocator::instance = new CachingCpuAllocator(cap);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/10);
  });
}

void releaseCpuCache() {
  if (CachingCpuAllocator::instance) CachingCpuAllocator::instance->releaseAll();
}

CpuCacheStats cpuCacheStats() { return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->stats() : CpuCacheStats{}; }

}  // namespace fvc::torchrt
