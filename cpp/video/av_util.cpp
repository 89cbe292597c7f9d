#include "video/av_util.h"

#include <new>

namespace fvc::av {

FramePtr allocFrame() {
  AVFrame* f = av_frame_alloc();
  if (f == nullptr) throw std::bad_alloc();
  return FramePtr(f);
}

PacketPtr allocPacket() {
  AVPacket* p = av_packet_alloc();
  if (p == nullptr) throw std::bad_alloc();
  return PacketPtr(p);
}

std::string errorString(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(errnum, buf, sizeof(buf));
  return buf;
}

double toSeconds(int64_t ts, AVRational tb) {
  return static_cast<double>(ts) * tb.num / tb.den;
}

double rationalToDouble(AVRational r) {
  return (r.num == 0 || r.den == 0) ? 0.0 : av_q2d(r);
}

}  // namespace fvc::av
