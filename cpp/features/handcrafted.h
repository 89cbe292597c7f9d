#pragma once
// Stage 2/4 handcrafted features of one video (schema 3): per-frame image statistics on
// the luma of N uniformly sampled frames, aggregated as mean and std across frames,
// temporal statistics between consecutive sampled frames and codec facts (schema 1's
// 36 values, unchanged), then local statistics on a grid of cells per frame, between
// each sampled frame and the next frame of the stream, and of each cell over time
// (schema 2's 64), then how each cell's motion differs from the frame's and its
// neighbours' (schema 3's 20, features/motion.h).
// The schema (names and order) is fixed: kFeatureNames. A value that cannot be
// computed (e.g. temporal cues from one frame, an unknown bitrate) is reported
// as missing, never as a silent zero or NaN.
#include <optional>
#include <string>
#include <vector>

#include "video/probe.h"

namespace fvc {

const std::vector<std::string>& handcraftedFeatureNames();

struct FeatureVector {
  std::vector<std::optional<double>> values;  // aligned with handcraftedFeatureNames()
};

inline constexpr int kHandcraftedSchemaVersion = 3;

// frames: 2 x count frames of height x width x 3 RGB uint8, interleaved: each sampled
// frame followed by the frame after it in the stream (SampleOptions::adjacent).
FeatureVector computeHandcraftedFeatures(const uint8_t* frames, int count, int width, int height, const ProbeResult& probe);

}  // namespace fvc
