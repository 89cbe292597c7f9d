#pragma once
// H.264 MP4 writer for RGB frames (libx264 through libavcodec). The file is
// written under a temporary name and renamed into place by finish(); a writer
// destroyed before finish() removes its partial file.
#include <cstdint>
#include <string>

#include "video/av_util.h"

namespace fvc {

struct EncoderOptions {
  int width = 0, height = 0;    // even, as 4:2:0 requires
  AVRational timeBase{1, 30};   // of the pts passed to write()
  AVRational frameRate{30, 1};  // nominal, for rate control
  int crf = 23;
  std::string preset = "veryfast";
  int threads = 1;
  std::string x264Params;  // extra x264 options, "key=value:key=value"
};

class VideoWriter {
 public:
  VideoWriter(std::string path, const EncoderOptions& options);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // rgb: height x width x 3. pts in options.timeBase; made strictly increasing.
  void write(const uint8_t* rgb, int64_t pts);
  void finish();
  int64_t framesWritten() const { return frames_; }

 private:
  void drain();
  // Removes the temporary file unless kept; first member, so it also cleans up
  // after a constructor that throws.
  struct TempFile {
    std::string path;
    bool keep = false;
    ~TempFile();
  };
  [[noreturn]] void fail(const std::string& what, int rc) const;

  std::string path_;
  TempFile temp_;
  EncoderOptions opt_;
  av::OutputFormatPtr fmt_;
  av::CodecPtr enc_;
  av::SwsPtr sws_;
  av::FramePtr frame_;
  av::PacketPtr pkt_;
  AVStream* stream_ = nullptr;
  int64_t lastPts_ = INT64_MIN;
  int64_t frames_ = 0;
};

}  // namespace fvc
