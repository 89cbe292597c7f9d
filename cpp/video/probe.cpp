#include "video/probe.h"

#include <cmath>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "video/keyframes.h"

namespace fvc {

ProbeResult probeVideo(VideoInput& input, const ProbeOptions& options) {
  ProbeResult r;
  AVFormatContext* fmt = input.format();
  AVStream* st = input.stream();
  const AVCodecParameters* par = st->codecpar;
  r.path = input.path();
  r.container = fmt->iformat->name;
  r.codec = avcodec_get_name(par->codec_id);
  if (const char* prof = avcodec_profile_name(par->codec_id, par->profile)) r.profile = prof;
  auto pixFmt = static_cast<AVPixelFormat>(par->format);
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(pixFmt)) {
    r.pixelFormat = desc->name;
    r.bitDepth = desc->comp[0].depth;
  }
  bool fullRange =
      par->color_range == AVCOL_RANGE_JPEG || pixFmt == AV_PIX_FMT_YUVJ420P || pixFmt == AV_PIX_FMT_YUVJ422P || pixFmt == AV_PIX_FMT_YUVJ444P;
  r.colorRange = fullRange ? "pc" : (par->color_range == AVCOL_RANGE_MPEG ? "tv" : "unknown");
  const char* space = av_color_space_name(par->color_space);
  r.colorSpace = space ? space : "unknown";
  r.width = par->width;
  r.height = par->height;
  r.rotation = input.rotation();
  bool swap = r.rotation == 90 || r.rotation == 270;
  r.displayWidth = swap ? r.height : r.width;
  r.displayHeight = swap ? r.width : r.height;
  r.avgFps = av::rationalToDouble(st->avg_frame_rate);
  r.realFps = av::rationalToDouble(st->r_frame_rate);
  r.startTime = av::toSeconds(input.startTicks(), st->time_base);
  r.duration = av::toSeconds(input.durationTicks(), st->time_base);
  r.bitrate = fmt->bit_rate > 0 ? fmt->bit_rate : 0;
  r.streamBitrate = par->bit_rate > 0 ? par->bit_rate : 0;
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) r.hasAudio = true;

  std::vector<int64_t> keyTicks;
  // A header that declares neither frames nor duration (an elementary stream, an AVI
  // whose header was lost) would read as "0 frames" although the file decodes: count.
  const bool headerKnows = st->nb_frames > 0 || r.duration > 0;
  if (options.exactFrameCount || !headerKnows) {
    PacketScan scan = scanPackets(input);
    r.frameCount = scan.packets;
    r.frameCountExact = true;
    keyTicks = std::move(scan.keyframes);
    r.keyframeSource = "scan";
    if (r.duration <= 0 && scan.endTicks > input.startTicks()) r.duration = av::toSeconds(scan.endTicks - input.startTicks(), st->time_base);
    if (r.duration <= 0 && scan.packets > 0)  // no timestamps at all: the frames at the nominal rate
      r.duration = av::toSeconds(scan.packets * input.frameDurationTicks(), st->time_base);
  } else {
    keyTicks = indexedKeyframes(input);
    r.keyframeSource = "index";
    if (st->nb_frames > 0) {
      r.frameCount = st->nb_frames;
    } else if (r.duration > 0 && r.avgFps > 0) {
      r.frameCount = static_cast<int64_t>(std::llround(r.duration * r.avgFps));
    }
  }
  r.keyframes.reserve(keyTicks.size());
  for (int64_t t : keyTicks) r.keyframes.push_back(av::toSeconds(t, st->time_base));
  return r;
}

}  // namespace fvc
