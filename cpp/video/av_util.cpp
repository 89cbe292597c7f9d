#include "video/av_util.h"

#include <cstdarg>
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

double toSeconds(int64_t ts, AVRational tb) { return static_cast<double>(ts) * tb.num / tb.den; }

double rationalToDouble(AVRational r) { return (r.num == 0 || r.den == 0) ? 0.0 : av_q2d(r); }

namespace {
void countingLog(void* avcl, int level, const char* fmt, va_list vl) {
  if (avcl != nullptr && level <= AV_LOG_ERROR && *static_cast<const AVClass**>(avcl) == avcodec_get_class()) {
    auto* damage = static_cast<DecodeDamage*>(static_cast<AVCodecContext*>(avcl)->opaque);
    if (damage != nullptr) damage->errors.fetch_add(1, std::memory_order_relaxed);
  }
  av_log_default_callback(avcl, level, fmt, vl);
}
}  // namespace

void installDamageCounting() { av_log_set_callback(countingLog); }

}  // namespace fvc::av
