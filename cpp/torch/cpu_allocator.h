#pragma once
// A caching allocator for LibTorch's large CPU tensors.
//
// glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh mappings
// and unmaps them on free, and trims the per-thread arenas a worker thread allocates
// from: every training step then page-faults its activations back in (measured:
// about a third of the step's CPU time in the kernel, 2M faults per r2plus1d_18
// step). Blocks of 1 MiB and more are kept on free and handed out again for
// requests of nearly the same size, as PyTorch's CUDA allocator does for device
// memory. Smaller blocks go straight to c10's allocator.
#include <cstddef>
#include <cstdint>

namespace fvc::torchrt {

struct CpuCacheStats {
  uint64_t cachedBytes = 0;  // free blocks held for reuse
  uint64_t liveBytes = 0;    // large blocks in use by tensors
  uint64_t hits = 0, misses = 0;
};

// Makes the caching allocator LibTorch's CPU allocator, once per process. The cap on
// cached bytes comes from FVC_CPU_CACHE_MB (default: a quarter of physical memory);
// FVC_CPU_CACHE_MB=0 leaves LibTorch's own allocator in place.
void installCpuCache();
// Frees every cached block (the end of a training run or prediction).
void releaseCpuCache();
CpuCacheStats cpuCacheStats();

}  // namespace fvc::torchrt
