#pragma once
// Uniform temporal sampling of N frames with accurate seeking.
//
// Targets are the centres of N equal segments of the stream's duration; the frame
// returned for a target is the one on screen at that instant (the last frame whose
// presentation time is <= the target). To reach a target the sampler seeks to the
// keyframe before it and decodes forward, but keeps decoding instead of seeking
// when the next target lies in the GOP already being decoded, and asks the codec
// to skip non-reference frames that cannot be the answer. Only the current
// candidate frame is held, so memory does not grow with video length.
#include <cstdint>
#include <string>
#include <vector>

#include "video/frame_converter.h"
#include "video/video_input.h"

namespace fvc {

// The most one sampling may hold (N x H x W x 3 bytes): 1 GiB is 43 frames of 4K, 10 of
// 8K. Beyond it the call is refused (ERR_INVALID_ARGUMENT) before anything is allocated.
inline constexpr size_t kMaxSampleBytes = size_t{1} << 30;

struct SampleOptions {
  int count = 8;
  ResizeOptions resize;
  bool skipNonReference = true;  // let the codec drop non-reference frames far before a target
  bool seek = true;              // false: decode sequentially from the start
  // Also return, right after each sampled frame, the frame that follows it in the
  // stream (its target plus one frame duration): 2 x count frames, for cues between
  // truly adjacent frames rather than between samples seconds apart.
  bool adjacent = false;
};

struct SampledFrames {
  int count = 0, width = 0, height = 0;
  std::vector<uint8_t> data;       // count x height x width x 3, RGB
  std::vector<double> timestamps;  // presentation time (s) of each returned frame
  std::vector<double> targets;     // the instant (s) each frame was sampled for
  std::vector<std::string> warnings;
  int seeks = 0;
  int64_t decodedFrames = 0;
  int64_t failedPackets = 0;
  // Per returned frame: 1 when it, or a frame it was decoded from (its GOP up to it),
  // had a decoder error or concealment. Frame-threaded decoders lose the per-frame
  // flags, so a damaged video is decoded again on one thread to mark them exactly.
  std::vector<uint8_t> damaged;
  int damagedFrames = 0;
  int64_t decoderErrors = 0;  // error lines the decoder logged
  OutputGeometry geometry;
  std::string keyframeSource;  // "index", "scan" or "none"
};

SampledFrames sampleFrames(VideoInput& input, const SampleOptions& options);

}  // namespace fvc
