#include "video/keyframes.h"

#include <algorithm>

namespace fvc {

std::vector<int64_t> indexedKeyframes(const VideoInput& input) {
  std::vector<int64_t> out;
  AVStream* st = input.stream();
  int n = avformat_index_get_entries_count(st);
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const AVIndexEntry* e = avformat_index_get_entry(st, i);
    if (e != nullptr && (e->flags & AVINDEX_KEYFRAME) && e->timestamp != AV_NOPTS_VALUE) out.push_back(e->timestamp);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PacketScan scanPackets(VideoInput& input) {
  PacketScan scan;
  av::PacketPtr pkt = av::allocPacket();
  while (input.readPacket(pkt.get())) {
    if ((scan.packets & 255) == 0) input.checkStop();
    ++scan.packets;
    if (pkt->flags & AV_PKT_FLAG_CORRUPT) ++scan.corruptPackets;
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts != AV_NOPTS_VALUE) {
      if (pkt->flags & AV_PKT_FLAG_KEY) scan.keyframes.push_back(ts);
      scan.endTicks = std::max(scan.endTicks, ts + std::max<int64_t>(pkt->duration, 0));
    }
    av_packet_unref(pkt.get());
  }
  std::sort(scan.keyframes.begin(), scan.keyframes.end());
  input.rewind();
  return scan;
}

}  // namespace fvc
