#include "video/frame_reader.h"

namespace fvc {

ReadStats forEachFrame(VideoInput& input, const std::function<void(const AVFrame*, int64_t)>& onFrame) {
  ReadStats stats;
  av::PacketPtr pkt = av::allocPacket();
  av::FramePtr frame = av::allocFrame();
  AVCodecContext* codec = input.codec();
  int64_t lastPts = AV_NOPTS_VALUE;
  auto receive = [&]() {
    for (;;) {
      int rc = avcodec_receive_frame(codec, frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) {
        ++stats.failedPackets;
        continue;
      }
      int64_t pts = frame->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) pts = lastPts == AV_NOPTS_VALUE ? input.startTicks() : lastPts + input.frameDurationTicks();
      lastPts = pts;
      onFrame(frame.get(), pts);
      ++stats.frames;
      av_frame_unref(frame.get());
    }
  };
  while (input.readPacket(pkt.get())) {
    if ((stats.frames & 15) == 0) input.checkStop();
    int rc = avcodec_send_packet(codec, pkt.get());
    av_packet_unref(pkt.get());
    if (rc < 0 && rc != AVERROR(EAGAIN)) ++stats.failedPackets;
    receive();
  }
  avcodec_send_packet(codec, nullptr);
  receive();
  return stats;
}

}  // namespace fvc
