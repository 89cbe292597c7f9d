#pragma once
// RAII owners and small helpers for libav objects.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
}

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace fvc::av {

struct FormatCloser {
  void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct OutputFormatCloser {
  void operator()(AVFormatContext* p) const {
    if (p->pb) avio_closep(&p->pb);
    avformat_free_context(p);
  }
};
struct CodecFreer {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFreer {
  void operator()(SwsContext* p) const { sws_freeContext(p); }
};

using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFreer>;

FramePtr allocFrame();
PacketPtr allocPacket();
std::string errorString(int errnum);
double toSeconds(int64_t ts, AVRational tb);
double rationalToDouble(AVRational r);  // 0 for 0/0 or x/0

// Errors a decoder logged (corrupt slices, missing references, bad bitstream).
// Decoders report most damage only in their log: libav conceals it and returns a
// plausible frame. A decoder context whose `opaque` points at one of these counts
// into it, frame-thread copies included (they copy `opaque`).
struct DecodeDamage {
  std::atomic<int64_t> errors{0};
};

// Routes libav's log through fvc's callback (once per process): error lines of a
// decoder with a DecodeDamage are counted, then the default logger applies the
// configured level (fvc keeps it quiet and reports damage on its results).
void installDamageCounting();

}  // namespace fvc::av
