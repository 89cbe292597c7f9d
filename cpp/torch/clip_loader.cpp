#include "torch/clip_loader.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "common/error.h"
#include "torch/tensor_io.h"

// libgomp, which LibTorch's CPU build already loads: its thread count is per thread.
extern "C" void omp_set_num_threads(int);

namespace fvc::deep {
namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  return x * 0xBF58476D1CE4E5B9ULL;
}

}  // namespace

namespace {

// T indices spread uniformly over an entry of n frames (the centre of each of T equal spans).
torch::Tensor uniformIndices(int64_t n, int64_t t) {
  std::vector<int64_t> idx(t);
  for (int64_t i = 0; i < t; ++i) idx[i] = std::min(n - 1, static_cast<int64_t>((i + 0.5) * n / t));
  return torch::tensor(idx);
}

// The model's own statistics (its Preset); an input built without them would be
// normalised for another model, so it is refused rather than guessed.
torch::Tensor normalise(torch::Tensor rgb, const ClipInput& in) {
  if (in.mean.size() != 3 || in.std.size() != 3) throw std::logic_error("ClipInput without the model's mean / std");
  auto mean = torch::tensor(in.mean).view({3, 1, 1, 1});
  auto std = torch::tensor(in.std).view({3, 1, 1, 1});
  return (rgb - mean) / std;
}

}  // namespace

torch::Tensor loadClip(const Clip& clip, const ClipInput& in, bool augment, uint64_t seed) {
  torch::Tensor frames = loadNpyUint8(clip.npy);
  if (frames.dim() != 4 || frames.size(3) != 3)
    throw Error(code::kInvalidData, clip.npy + ": expected frames [N, H, W, 3], got " + c10::str(frames.sizes()));
  const torch::Tensor idx = uniformIndices(frames.size(0), in.numFrames);
  torch::Tensor x = frames.index_select(0, idx).permute({3, 0, 1, 2}).to(torch::kFloat32).div_(255.0f);  // [3, T, H, W]
  if (in.layout == ClipLayout::RgbFlow) {
    if (clip.flow.empty()) throw Error(code::kInvalidArgument, clip.npy + ": this model needs the clip's optical flow (no flow file given)");
    torch::Tensor flow = loadNpyUint8(clip.flow);
    if (flow.dim() != 4 || flow.size(3) != 2 || flow.size(0) != frames.size(0) || flow.size(1) != frames.size(1) || flow.size(2) != frames.size(2))
      throw Error(code::kInvalidData, clip.flow + ": expected flow [" + std::to_string(frames.size(0)) + ", " + std::to_string(frames.size(1)) +
                                          ", " + std::to_string(frames.size(2)) + ", 2] matching " + clip.npy + ", got " + c10::str(flow.sizes()));
    // Back to pixels, then / 4 so typical motion lands in about [-1, 1] like the normalised RGB.
    torch::Tensor f = flow.index_select(0, idx).permute({3, 0, 1, 2}).to(torch::kFloat32).sub_(128.f).div_(kFlowScale * 4.f);
    x = torch::cat({x, f}, 0);  // [5, T, H, W]
  }
  std::mt19937_64 rng(seed);
  int64_t h = x.size(2), w = x.size(3);
  const int64_t s = in.cropSize;
  if (in.layout == ClipLayout::RgbMask) {
    // Native aspect ratio: the longer side to S, no crop; only flips augment.
    const double f = static_cast<double>(s) / std::max(h, w);
    const int64_t nh = std::max<int64_t>(16, std::llround(h * f)), nw = std::max<int64_t>(16, std::llround(w * f));
    if (nh != h || nw != w) x = torch::upsample_bilinear2d(x, {nh, nw}, false);
    if (augment && std::uniform_int_distribution<int>(0, 1)(rng) == 1) x = x.flip({3});
    return torch::cat({normalise(x, in), torch::ones({1, x.size(1), nh, nw})}, 0).contiguous();
  }
  if (h < s || w < s) {
    // Too small for the crop: scale the short side up to it.
    const double f = static_cast<double>(s) / std::min(h, w);
    h = std::max<int64_t>(s, std::llround(h * f));
    w = std::max<int64_t>(s, std::llround(w * f));
    x = torch::upsample_bilinear2d(x, {h, w}, false);
  }
  // RgbPairs: at multiples of 8 px, so the codec's block grid keeps its phase in every crop,
  // and within 32 px of the centre crop, where a face-sized region stays in view (a crop
  // anywhere in a wide frame often leaves out the manipulated region, and its label lies).
  const bool pairs = in.layout == ClipLayout::RgbPairs;
  const int64_t step = pairs ? 8 : 1;
  int64_t top = (h - s) / 2 / step * step, left = (w - s) / 2 / step * step;
  if (augment) {
    auto pick = [&](int64_t centre, int64_t room) {
      const int64_t lo = pairs ? std::max<int64_t>(0, centre - 32) : 0, hi = pairs ? std::min(room, centre + 32) : room;
      return std::uniform_int_distribution<int64_t>((lo + step - 1) / step, hi / step)(rng) * step;
    };
    top = pick(top, h - s);
    left = pick(left, w - s);
  }
  x = x.slice(2, top, top + s).slice(3, left, left + s);
  if (augment && std::uniform_int_distribution<int>(0, 1)(rng) == 1) {
    x = x.flip({3});
    if (x.size(0) == 5) x[3].neg_();  // a mirrored scene moves the other way
  }
  torch::Tensor rgb = normalise(x.slice(0, 0, 3), in);
  return (x.size(0) == 3 ? rgb : torch::cat({rgb, x.slice(0, 3)}, 0)).contiguous();
}

torch::Tensor collate(const std::vector<torch::Tensor>& clips) {
  int64_t h = 0, w = 0;
  bool same = true;
  for (const auto& c : clips) {
    same = same && c.size(2) == clips[0].size(2) && c.size(3) == clips[0].size(3);
    h = std::max(h, c.size(2));
    w = std::max(w, c.size(3));
  }
  if (same) return torch::stack(clips);
  std::vector<torch::Tensor> padded;
  for (const auto& c : clips) padded.push_back(torch::constant_pad_nd(c, {0, w - c.size(3), 0, h - c.size(2)}, 0));
  return torch::stack(padded);
}

ClipLoader::ClipLoader(std::vector<Clip> clips, ClipInput input, int batchSize, bool train, uint64_t seed, int threads, int prefetch)
    : clips_(std::move(clips)),
      input_(input),
      batchSize_(std::max(1, batchSize)),
      train_(train),
      seed_(seed),
      threads_(std::max(1, threads)),
      prefetch_(std::max(1, prefetch)) {
  if (clips_.empty()) throw Error(code::kInvalidArgument, "no clips to load");
}

ClipLoader::~ClipLoader() { stop(); }

void ClipLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ClipLoader::shard(int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error(code::kInvalidArgument, "rank " + std::to_string(rank) + " outside 0.." + std::to_string(world - 1));
  rank_ = rank;
  world_ = world;
}

void ClipLoader::startEpoch(int epoch) {
  stop();
  order_.resize(clips_.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (train_) std::shuffle(order_.begin(), order_.end(), std::mt19937_64(mix(seed_, static_cast<uint64_t>(epoch))));
  const size_t padded = static_cast<size_t>(clipsPerEpoch() * world_);
  for (size_t i = 0; order_.size() < padded; ++i) order_.push_back(order_[i]);
  std::vector<int64_t> mine;
  for (size_t i = rank_; i < order_.size(); i += world_) mine.push_back(order_[i]);
  plan_.clear();
  for (size_t i = 0; i < mine.size(); i += batchSize_) plan_.emplace_back(mine.begin() + i, mine.begin() + std::min(mine.size(), i + batchSize_));
  ready_.clear();
  error_.clear();
  nextToBuild_ = nextToHand_ = 0;
  epoch_ = epoch;
  stopping_ = false;
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
}

void ClipLoader::work() {
  // Loader threads run small tensor ops beside the training step. With the global
  // intra-op count each would start an OpenMP team of its own, and libgomp, once it
  // manages more threads than there are cores, stops spinning between parallel
  // regions in every team: the step's threads then sleep and wake at each operator
  // (1.2-1.5x slower steps, measured). One thread each. get_num_threads() first runs
  // LibTorch's per-thread lazy init, which would otherwise restore the global count
  // at the thread's first operator (at::init_num_threads() does not mark it done).
  at::get_num_threads();
  omp_set_num_threads(1);
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || (nextToBuild_ < static_cast<int64_t>(plan_.size()) && nextToBuild_ < nextToHand_ + prefetch_); });
      if (stopping_ || nextToBuild_ >= static_cast<int64_t>(plan_.size())) return;
      b = nextToBuild_++;
    }
    Batch batch;
    try {
      std::vector<torch::Tensor> xs;
      std::vector<int64_t> ys;
      for (int64_t i : plan_[b]) {
        xs.push_back(loadClip(clips_[i], input_, train_ && input_.augment, mix(mix(seed_, epoch_), static_cast<uint64_t>(i))));
        ys.push_back(clips_[i].label);
      }
      batch = {collate(xs), torch::tensor(ys, torch::kInt64), plan_[b]};
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.empty()) error_ = e.what();
      stopping_ = true;
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(b, std::move(batch));
    }
    cv_.notify_all();
  }
}

std::optional<Batch> ClipLoader::next(double* waited) {
  std::unique_lock<std::mutex> lock(mu_);
  if (nextToHand_ >= static_cast<int64_t>(plan_.size())) return std::nullopt;
  const auto t0 = std::chrono::steady_clock::now();
  cv_.wait(lock, [&] { return ready_.count(nextToHand_) > 0 || !error_.empty(); });
  if (waited) *waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!error_.empty()) throw Error(code::kInvalidData, error_);
  Batch b = std::move(ready_.at(nextToHand_));
  ready_.erase(nextToHand_++);
  lock.unlock();
  cv_.notify_all();
  return b;
}

}  // namespace fvc::deep
