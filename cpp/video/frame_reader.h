#pragma once
// Every frame of a video in presentation order, one at a time: memory does not
// grow with length. Damaged packets are counted and skipped.
#include <cstdint>
#include <functional>

#include "video/video_input.h"

namespace fvc {

struct ReadStats {
  int64_t frames = 0;
  int64_t failedPackets = 0;
};

// `onFrame` gets each decoded frame and its presentation time in stream ticks.
ReadStats forEachFrame(VideoInput& input, const std::function<void(const AVFrame*, int64_t pts)>& onFrame);

}  // namespace fvc
