#pragma once
// An opened video file: demuxer, chosen video stream and its decoder. Opening
// validates the path first so that a missing, empty or non-video file gets an
// error naming the file and the cause rather than a bare libav status.
#include <string>

#include "common/stop_condition.h"
#include "video/av_util.h"

namespace fvc {

struct DecoderOptions {
  int threads = 0;  // 0: libav picks (one per core)
};

class VideoInput {
 public:
  VideoInput(std::string path, const StopCondition& stop, const DecoderOptions& decoder = {});
  VideoInput(const VideoInput&) = delete;
  VideoInput& operator=(const VideoInput&) = delete;

  const std::string& path() const { return path_; }
  AVFormatContext* format() const { return fmt_.get(); }
  AVStream* stream() const { return stream_; }
  AVCodecContext* codec() const { return codec_.get(); }
  int streamIndex() const { return stream_->index; }
  const StopCondition& stop() const { return stop_; }

  // Next packet of the video stream into `pkt`; false at end of input. A read
  // error in the middle of a damaged file also ends input (and is recorded in
  // readError()), so callers keep what was decodable.
  bool readPacket(AVPacket* pkt);
  int readError() const { return readError_; }
  // Errors the decoder has logged so far (damage it concealed or could not decode).
  int64_t decoderErrors() const { return damage_.errors.load(std::memory_order_relaxed); }
  int decoderThreads() const { return codec_->thread_count; }

  // Clockwise rotation in degrees (0, 90, 180, 270) that a player applies.
  int rotation() const { return rotation_; }
  // The picture's size as a player shows it, rotation applied.
  int displayWidth() const;
  int displayHeight() const;
  // Nominal frame rate (average, else real); {0, 1} when the stream declares neither.
  AVRational frameRate() const;
  // Best guess of one frame's duration in stream time-base ticks (>= 1).
  int64_t frameDurationTicks() const { return frameTicks_; }
  // Stream start in ticks (0 when unknown).
  int64_t startTicks() const;
  // Duration in ticks from stream or container; 0 when neither knows.
  int64_t durationTicks() const;

  // Seek so decoding resumes at the keyframe at or before `ts`; flushes the decoder.
  bool seek(int64_t ts);
  // Seek to the container-index entry at `ts` itself (a keyframe timestamp taken
  // from the index): searching forward from it can never land on an earlier GOP.
  bool seekToIndexedKeyframe(int64_t ts);
  // Back to the first packet: by time, else by byte (elementary streams).
  bool rewind();
  // Throws ERR_ABORTED / ERR_TIMEOUT if the caller asked to stop.
  void checkStop() const { stop_.check(path_); }
  [[noreturn]] void fail(const char* code, const std::string& cause) const;

 private:
  static int interrupt(void* opaque);
  bool seekWithFlags(int64_t ts, int flags);

  std::string path_;
  const StopCondition& stop_;
  av::FormatPtr fmt_;
  av::CodecPtr codec_;
  AVStream* stream_ = nullptr;
  int rotation_ = 0;
  int64_t frameTicks_ = 1;
  int readError_ = 0;
  av::DecodeDamage damage_;
};

}  // namespace fvc
