#pragma once
// Stage 2/4 handcrafted features of one video: per-frame image statistics on the
// luma of N uniformly sampled frames, aggregated as mean and std across frames,
// plus temporal statistics between consecutive sampled frames and codec facts.
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

// frames: count x height x width x 3 RGB uint8.
FeatureVector computeHandcraftedFeatures(const uint8_t* frames, int count, int width, int height, const ProbeResult& probe);

}  // namespace fvc
