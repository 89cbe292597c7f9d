#pragma once
// The input pipeline: frame-cache entries -> normalised clip batches, built on
// background threads and handed out in order through a bounded queue, so the
// model rarely waits for data. Every random choice (order, crop, flip) comes from
// the seed, the epoch and the clip's index, never from thread timing.
#include <torch/torch.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "torch/deep.h"

namespace fvc::deep {

// One clip as model input (see ClipInput and ClipLayout).
torch::Tensor loadClip(const Clip& clip, const ClipInput& input, bool augment, uint64_t seed);

// Clips of one batch as [B, C, T, H, W]; frames of different sizes (ClipLayout::RgbMask)
// are zero-padded at the bottom and right, which their mask channel marks as absent.
torch::Tensor collate(const std::vector<torch::Tensor>& clips);

struct Batch {
  torch::Tensor clips;   // [B, C, T, S, S]
  torch::Tensor labels;  // [B] int64
  std::vector<int64_t> indices;
};

class ClipLoader {
 public:
  ClipLoader(std::vector<Clip> clips, ClipInput input, int batchSize, bool train, uint64_t seed, int threads, int prefetch = 4);
  ~ClipLoader();
  ClipLoader(const ClipLoader&) = delete;
  ClipLoader& operator=(const ClipLoader&) = delete;

  // Data-parallel training: this rank loads order[rank], order[rank + world], ... of each
  // epoch's order, padded by repeating its start to a multiple of world (PyTorch's
  // DistributedSampler), so every rank runs the same number of batches.
  void shard(int rank, int world);
  void startEpoch(int epoch);
  // The epoch's order over all ranks (padded), as startEpoch made it.
  const std::vector<int64_t>& epochOrder() const { return order_; }
  // The next batch of the epoch, or nothing at its end. Adds the time spent blocked to *waited.
  std::optional<Batch> next(double* waited);
  int64_t clipsPerEpoch() const { return (static_cast<int64_t>(clips_.size()) + world_ - 1) / world_; }  // this rank's
  int64_t batchesPerEpoch() const { return (clipsPerEpoch() + batchSize_ - 1) / batchSize_; }

 private:
  void stop();
  void work();

  std::vector<Clip> clips_;
  ClipInput input_;
  int batchSize_;
  bool train_;
  uint64_t seed_;
  int threads_;
  int prefetch_;
  int rank_ = 0, world_ = 1;
  std::vector<int64_t> order_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::vector<std::vector<int64_t>> plan_;  // batch -> clip indices
  std::map<int64_t, Batch> ready_;
  std::string error_;
  int64_t nextToBuild_ = 0, nextToHand_ = 0;
  int epoch_ = 0;
  bool stopping_ = false;
};

}  // namespace fvc::deep
