#pragma once
// The temporal half of a Stage 1 augmentation: which decoded frames are kept and
// at what output timestamp. A lower frame rate keeps, for each tick of the new
// rate, the first source frame nearest to it (halving 30 fps keeps frames 0, 2,
// 4, ... as ffmpeg's fps filter does); frame dropping then removes kept frames at random, leaving gaps in the
// timestamps — the stutter of a lossy capture — but never the first frame.
#include <cmath>
#include <cstdint>
#include <random>

namespace fvc {

struct TemporalSpec {
  double fps = 0;       // output frame rate; 0 keeps the source timing
  double dropProb = 0;  // probability of dropping each frame after the first
  uint64_t seed = 0;
};

class TemporalSelector {
 public:
  explicit TemporalSelector(const TemporalSpec& spec) : s_(spec), rng_(spec.seed) {}

  // t: source presentation time in seconds from the start. Returns whether to keep
  // the frame; *outPts receives its timestamp in output ticks (1/fps when fps is
  // set, else the caller's source ticks, passed as sourcePts).
  bool keep(double t, int64_t sourcePts, int64_t* outPts) {
    int64_t pts = sourcePts;
    if (s_.fps > 0) {
      // Ties go to the earlier tick, whose frame then wins: at half rate the frame
      // at 1/30 s rounds to tick 0 and is dropped, the one at 2/30 s becomes tick 1.
      pts = static_cast<int64_t>(std::floor(t * s_.fps + 0.5 - 1e-6));
      if (pts < 0) pts = 0;
      if (pts <= lastTick_) return false;
      lastTick_ = pts;
    }
    bool first = kept_ == 0;
    // Drawn for every candidate, so the pattern depends only on the seed and the frame.
    double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    if (!first && u < s_.dropProb) return false;
    ++kept_;
    *outPts = pts;
    return true;
  }

 private:
  TemporalSpec s_;
  std::mt19937_64 rng_;  // its output sequence is fixed by the C++ standard
  int64_t lastTick_ = -1;
  int64_t kept_ = 0;
};

}  // namespace fvc
