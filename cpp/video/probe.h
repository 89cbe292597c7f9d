#pragma once
// Container and stream facts of one video, read from libav directly.
#include <cstdint>
#include <string>
#include <vector>

#include "video/video_input.h"

namespace fvc {

struct ProbeOptions {
  bool exactFrameCount = false;  // demux every packet to count frames and keyframes
};

struct ProbeResult {
  std::string path;
  std::string container;  // demuxer short name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // e.g. "h264"
  std::string profile;
  std::string pixelFormat;  // e.g. "yuv420p"
  int bitDepth = 8;
  std::string colorRange;  // "tv", "pc" or "unknown"
  std::string colorSpace;
  int width = 0, height = 0;                // coded (stored) size
  int displayWidth = 0, displayHeight = 0;  // after rotation
  int rotation = 0;                         // clockwise degrees a player applies
  double avgFps = 0;                        // average frame rate
  double realFps = 0;                       // libav's r_frame_rate: lowest rate that represents all timestamps
  double startTime = 0;                     // seconds
  double duration = 0;                      // seconds
  int64_t frameCount = 0;
  bool frameCountExact = false;
  int64_t bitrate = 0;        // container bits/s
  int64_t streamBitrate = 0;  // video stream bits/s, 0 if unknown
  bool hasAudio = false;
  std::vector<double> keyframes;  // keyframe times in seconds
  std::string keyframeSource;     // "index" (container index) or "scan" (every packet)
};

ProbeResult probeVideo(VideoInput& input, const ProbeOptions& options);

}  // namespace fvc
