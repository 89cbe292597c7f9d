#pragma once
// Where a stream's keyframes are. Containers with an index (MP4, MKV cues) give it
// for free; others (MPEG-TS, raw streams) need one demux-only pass, which reads
// the file but decodes nothing.
#include <cstdint>
#include <vector>

#include "video/video_input.h"

namespace fvc {

struct PacketScan {
  int64_t packets = 0;
  std::vector<int64_t> keyframes;  // presentation ticks of key packets, ascending
  int64_t endTicks = 0;            // end of the last packet (pts + duration), 0 if unknown
  int corruptPackets = 0;
};

// Timestamps (ticks) of keyframes in the container index; empty without an index.
std::vector<int64_t> indexedKeyframes(const VideoInput& input);

// Demux every packet of the video stream once, then rewind to the start.
PacketScan scanPackets(VideoInput& input);

}  // namespace fvc
