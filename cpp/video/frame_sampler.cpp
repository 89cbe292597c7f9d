#include "video/frame_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>

#include "common/error.h"
#include "video/keyframes.h"

namespace fvc {
namespace {

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
constexpr int kMaxSeekRetries = 3;
constexpr int kMinSeekGapFrames = 12;

std::string secondsText(double s) {
  std::ostringstream os;
  os.precision(3);
  os << std::fixed << s << " s";
  return os.str();
}

class Sampler {
 public:
  Sampler(VideoInput& in, const SampleOptions& opt) : in_(in), opt_(opt) {}

  SampledFrames run() {
    AVStream* st = in_.stream();
    tb_ = st->time_base;
    if (opt_.count <= 0) throw Error(code::kInvalidArgument, "count: must be a positive number of frames");
    out_.geometry = computeGeometry(in_.displayWidth(), in_.displayHeight(), opt_.resize);
    converter_ = std::make_unique<FrameConverter>(out_.geometry, in_.rotation(), opt_.resize.interpolation);

    keyframes_ = opt_.seek ? indexedKeyframes(in_) : std::vector<int64_t>{};
    out_.keyframeSource = keyframes_.empty() ? "none" : "index";
    int64_t start = in_.startTicks();
    int64_t duration = in_.durationTicks();
    if (opt_.seek && (keyframes_.empty() || duration <= 0)) {
      // No container index or no declared duration: one demux pass supplies both.
      PacketScan scan = scanPackets(in_);
      if (keyframes_.empty() && !scan.keyframes.empty()) {
        keyframes_ = std::move(scan.keyframes);
        out_.keyframeSource = "scan";
      }
      if (duration <= 0 && scan.endTicks > start) duration = scan.endTicks - start;
      // An elementary stream (raw .h264) has packets but no timestamps: its length is
      // its frame count at the nominal rate, as ffmpeg times it.
      if (duration <= 0 && scan.packets > 0) duration = scan.packets * in_.frameDurationTicks();
    }
    if (duration <= 0) throw Error(code::kInvalidData, in_.path() + ": duration is unknown and no packets could be read");
    planTargets(start, duration);

    errorsAtStart_ = errorsSeen_ = in_.decoderErrors();  // a probe before may have decoded too
    const size_t frameBytes = static_cast<size_t>(out_.geometry.width) * out_.geometry.height * 3;
    const int total = static_cast<int>(targets_.size());
    // A few KB of header can declare a frame size whose samples would take gigabytes: the
    // buffer is bounded before it is allocated, and the message says how to stay inside.
    if (frameBytes * static_cast<size_t>(total) > kMaxSampleBytes)
      throw Error(code::kInvalidArgument, in_.path() + ": " + std::to_string(total) + " frames of " + std::to_string(out_.geometry.width) + "x" +
                                              std::to_string(out_.geometry.height) + " would take " + std::to_string((frameBytes * total) >> 20) +
                                              " MiB, over fvc's " + std::to_string(kMaxSampleBytes >> 20) +
                                              " MiB for one sampling: sample fewer frames or resize them");
    out_.count = total;
    out_.width = out_.geometry.width;
    out_.height = out_.geometry.height;
    out_.data.resize(frameBytes * total);
    out_.timestamps.assign(total, 0.0);
    out_.damaged.assign(total, 0);
    frameBytes_ = frameBytes;

    decodeLoop();
    if (next_ < targets_.size() && !haveCandidate_ && out_.seeks > 0) {
      // Seeking led nowhere decodable (a broken index, an overstated duration):
      // fall back once to a plain sequential decode from the start.
      out_.warnings.push_back("seeking found no decodable frame; decoded sequentially from the start instead");
      keyframes_.clear();
      in_.rewind();
      resetDecodeState();
      decodeLoop();
    }
    finishRemaining();
    return std::move(out_);
  }

 private:
  void planTargets(int64_t start, int64_t duration) {
    targets_.clear();
    out_.targets.clear();
    std::vector<int64_t> primary;
    for (int i = 0; i < opt_.count; ++i) {
      double offset = (2.0 * i + 1.0) * static_cast<double>(duration) / (2.0 * opt_.count);
      primary.push_back(start + static_cast<int64_t>(std::floor(offset)));
    }
    for (size_t i = 0; i < primary.size(); ++i) {
      targets_.push_back(primary[i]);
      // The frame on screen one frame duration later is the next one in presentation
      // order; targets stay sorted when samples are closer than a frame.
      if (opt_.adjacent) targets_.push_back(std::min(primary[i] + in_.frameDurationTicks(), i + 1 < primary.size() ? primary[i + 1] : INT64_MAX));
    }
    for (int64_t t : targets_) out_.targets.push_back(av::toSeconds(t, tb_));
  }

  void resetDecodeState() {
    candidate_.reset();
    haveCandidate_ = false;
    lastLogic_ = kNone;
    lastPts_ = kNone;
    justSeeked_ = false;
    // Decoding restarts at a keyframe: earlier damage is no longer in the chain.
    gopDamaged_ = false;
    errorsSeen_ = in_.decoderErrors();
  }

  // The keyframe to seek to for `target`: the last indexed one at or before it,
  // skipping keys already seen to land after the target (index timestamps are
  // decode times in some containers, so a key can present later than it says).
  // Returns kNone when no such key exists.
  int64_t chooseKey(int64_t target) const {
    auto it = std::upper_bound(keyframes_.begin(), keyframes_.end(), target);
    while (it != keyframes_.begin()) {
      int64_t key = *--it;
      auto landed = landedAt_.find(key);
      if (landed == landedAt_.end() || landed->second <= target) return key;
    }
    return kNone;
  }

  // Seek when the keyframe before the next target lies beyond what has been
  // decoded: everything between would be decoded only to be thrown away.
  void maybeSeek() {
    if (keyframes_.empty() || next_ >= targets_.size() || justSeeked_) return;
    int64_t key = chooseKey(targets_[next_]);
    if (key == kNone) return;
    auto landed = landedAt_.find(key);
    int64_t keyPts = landed == landedAt_.end() ? key : landed->second;
    int64_t position = lastLogic_ == kNone ? in_.startTicks() : lastLogic_;
    // A seek flushes the decoder (and its frame-thread pipeline), so a short
    // stretch is cheaper to decode through than to jump over.
    int64_t minGap = (kMinSeekGapFrames + std::max(1, in_.codec()->thread_count)) * in_.frameDurationTicks();
    if (keyPts <= position || (lastLogic_ != kNone && keyPts - position < minGap)) return;
    if (!seekTo(key, true)) keyframes_.clear();  // unseekable input: decode on sequentially
  }

  bool seekTo(int64_t ts, bool indexed) {
    if (!(indexed ? in_.seekToIndexedKeyframe(ts) : in_.seek(ts))) return false;
    ++out_.seeks;
    resetDecodeState();
    justSeeked_ = true;
    seekKey_ = ts;
    return true;
  }

  void decodeLoop() {
    av::PacketPtr pkt = av::allocPacket();
    av::FramePtr frame = av::allocFrame();
    AVCodecContext* codec = in_.codec();
    while (next_ < targets_.size()) {
      in_.checkStop();
      maybeSeek();
      if (!in_.readPacket(pkt.get())) break;
      bool skippable = opt_.skipNonReference && pkt->pts != AV_NOPTS_VALUE && pkt->pts + 2 * in_.frameDurationTicks() <= targets_[next_];
      codec->skip_frame = skippable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
      int rc = avcodec_send_packet(codec, pkt.get());
      av_packet_unref(pkt.get());
      if (rc < 0 && rc != AVERROR(EAGAIN)) ++out_.failedPackets, gopDamaged_ = true;
      receiveFrames(frame.get());
    }
    if (next_ < targets_.size()) {  // end of input: drain frames the decoder still holds
      codec->skip_frame = AVDISCARD_DEFAULT;
      avcodec_send_packet(codec, nullptr);
      receiveFrames(frame.get());
    }
  }

  void receiveFrames(AVFrame* frame) {
    AVCodecContext* codec = in_.codec();
    for (;;) {
      int rc = avcodec_receive_frame(codec, frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) {
        ++out_.failedPackets;
        gopDamaged_ = true;
        continue;
      }
      ++out_.decodedFrames;
      bool reseeked = onFrame(frame);
      av_frame_unref(frame);
      if (reseeked || next_ >= targets_.size()) return;
    }
  }

  // Returns true when it seeked again (the decoder was flushed).
  bool onFrame(AVFrame* f) {
    // Damage reaches this frame through its own decoding or through a reference
    // before it in the GOP; a clean keyframe starts a clean chain. Logged errors
    // cannot be tied to one frame (reordering), so they taint the chain.
    const bool own = f->decode_error_flags != 0 || (f->flags & AV_FRAME_FLAG_CORRUPT) != 0;
    const int64_t errors = in_.decoderErrors();
    const bool logged = errors > errorsSeen_;
    errorsSeen_ = errors;
    if (f->key_frame && !own && !logged) gopDamaged_ = false;
    gopDamaged_ = gopDamaged_ || own || logged;
    const bool damaged = gopDamaged_;
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = lastPts_ == kNone ? in_.startTicks() : lastPts_ + in_.frameDurationTicks();
    lastPts_ = pts;
    // Decisions use a monotonic clock so a stream whose timestamps jump back
    // cannot loop; what is reported is the frame's own timestamp.
    int64_t logic = lastLogic_ == kNone ? pts : std::max(pts, lastLogic_);
    lastLogic_ = logic;

    if (justSeeked_) {
      justSeeked_ = false;
      landedAt_[seekKey_] = logic;
      if (logic > targets_[next_] && seekRetries_ < kMaxSeekRetries) {
        // Landed after the target: retry from an earlier keyframe, or the start.
        ++seekRetries_;
        int64_t key = chooseKey(targets_[next_]);
        if (key == kNone && seekKey_ != in_.startTicks()) key = in_.startTicks();
        if (key != kNone && key != seekKey_ && seekTo(key, key != in_.startTicks())) return true;
      }
    }
    seekRetries_ = 0;

    while (next_ < targets_.size() && logic > targets_[next_]) {
      if (haveCandidate_) {
        emit(candidate_.get(), candidatePts_, candidateDamaged_);
      } else {
        out_.warnings.push_back("no frame at or before " + secondsText(out_.targets[next_]) + " could be decoded; returned the next frame, at " +
                                secondsText(av::toSeconds(pts, tb_)));
        emit(f, pts, damaged);
      }
    }
    if (next_ >= targets_.size()) return false;
    if (!candidate_) candidate_ = av::allocFrame();
    av_frame_unref(candidate_.get());
    if (av_frame_ref(candidate_.get(), f) < 0) throw std::bad_alloc();
    candidatePts_ = pts;
    candidateDamaged_ = damaged;
    haveCandidate_ = true;
    return false;
  }

  void emit(const AVFrame* f, int64_t pts, bool damaged) {
    out_.damaged[next_] = damaged ? 1 : 0;
    uint8_t* dst = out_.data.data() + frameBytes_ * next_;
    double seconds = av::toSeconds(pts, tb_);
    if (next_ > 0 && lastEmitted_ == f && lastEmittedPts_ == pts) {
      std::memcpy(dst, dst - frameBytes_, frameBytes_);  // same frame serves consecutive targets
    } else {
      converter_->convert(f, dst);
    }
    lastEmitted_ = f;
    lastEmittedPts_ = pts;
    out_.timestamps[next_] = seconds;
    ++next_;
  }

  void finishRemaining() {
    if (next_ < targets_.size()) {
      if (!haveCandidate_ && next_ == 0) {
        std::string cause = in_.readError() ? av::errorString(in_.readError()) : "no frame could be decoded";
        throw Error(code::kDecode, in_.path() + ": no decodable video frames (" + cause + ")");
      }
      if (haveCandidate_) {
        // The last frame stays on screen for one frame duration: targets inside that
        // interval are its own (a successor sampled in the last frame of a clip), not missing.
        if (targets_.back() >= candidatePts_ + in_.frameDurationTicks()) {
          double last = av::toSeconds(candidatePts_, tb_);
          out_.warnings.push_back("video ends at " + secondsText(last) + ", before its declared duration; " +
                                  std::to_string(targets_.size() - next_) + " later target(s) use the last decodable frame");
        }
        while (next_ < targets_.size()) emit(candidate_.get(), candidatePts_, candidateDamaged_);
      } else {
        // Only reachable if frames were emitted but the candidate was lost to a reseek.
        while (next_ < targets_.size()) {
          std::memcpy(out_.data.data() + frameBytes_ * next_, out_.data.data() + frameBytes_ * (next_ - 1), frameBytes_);
          out_.timestamps[next_] = out_.timestamps[next_ - 1];
          out_.damaged[next_] = out_.damaged[next_ - 1];
          ++next_;
        }
      }
    }
    if (in_.readError()) out_.warnings.push_back("read error (" + av::errorString(in_.readError()) + "): the file is damaged or truncated");
    if (out_.failedPackets > 0) out_.warnings.push_back(std::to_string(out_.failedPackets) + " packet(s) could not be decoded: the file is damaged");
    out_.decoderErrors = in_.decoderErrors() - errorsAtStart_;
    std::string which;
    for (size_t i = 0; i < out_.damaged.size(); ++i)
      if (out_.damaged[i]) {
        ++out_.damagedFrames;
        which += (which.empty() ? "" : ", ") + std::to_string(i) + " (" + secondsText(out_.timestamps[i]) + ")";
      }
    if (out_.damagedFrames > 0)
      out_.warnings.push_back(std::to_string(out_.damagedFrames) + " of " + std::to_string(out_.count) +
                              " returned frame(s) decoded from damaged data (decoder errors or concealment): frame " + which);
    else if (out_.decoderErrors > 0)
      out_.warnings.push_back(std::to_string(out_.decoderErrors) +
                              " decoder error(s) in frames that were not returned; the returned frames decoded clean");
  }

  VideoInput& in_;
  const SampleOptions& opt_;
  AVRational tb_{1, 1};
  SampledFrames out_;
  std::unique_ptr<FrameConverter> converter_;
  bool gopDamaged_ = false, candidateDamaged_ = false;
  int64_t errorsSeen_ = 0, errorsAtStart_ = 0;
  std::vector<int64_t> keyframes_;
  std::vector<int64_t> targets_;
  size_t next_ = 0;
  size_t frameBytes_ = 0;
  av::FramePtr candidate_;
  int64_t candidatePts_ = 0;
  bool haveCandidate_ = false;
  int64_t lastLogic_ = kNone;
  int64_t lastPts_ = kNone;
  bool justSeeked_ = false;
  int64_t seekKey_ = kNone;
  int seekRetries_ = 0;
  std::map<int64_t, int64_t> landedAt_;  // seek key -> first presentation time decoded after it
  const AVFrame* lastEmitted_ = nullptr;
  int64_t lastEmittedPts_ = kNone;
};

}  // namespace

SampledFrames sampleFrames(VideoInput& input, const SampleOptions& options) {
  SampledFrames r = Sampler(input, options).run();
  const bool damage = r.decoderErrors > 0 || r.failedPackets > 0 || r.damagedFrames > 0;
  if (!damage || input.decoderThreads() <= 1) return r;
  // Frame threads drop the per-frame error flags: decode this (rare) damaged video
  // again on one thread, where they are exact, so the right frames are marked.
  VideoInput exact(input.path(), input.stop(), DecoderOptions{1});
  SampledFrames again = Sampler(exact, options).run();
  again.warnings.push_back("damage found; decoded again on one thread to mark the damaged frames");
  return again;
}

}  // namespace fvc
