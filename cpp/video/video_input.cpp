#include "video/video_input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>

extern "C" {
#include <libavutil/display.h>
}

#include "common/error.h"

namespace fvc {
namespace {

void checkPath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(code::kFileNotFound, path + ": no such file");
    throw Error(code::kIo, path + ": cannot access file (" + std::strerror(errno) + ")");
  }
  if (S_ISDIR(st.st_mode)) throw Error(code::kInvalidArgument, path + ": is a directory, not a video file");
  // Opening a FIFO blocks until a writer appears, outside any timeout's reach; a
  // device or socket never ends. Only regular files are videos here.
  if (!S_ISREG(st.st_mode)) throw Error(code::kInvalidArgument, path + ": not a regular file (a FIFO, socket or device): fvc reads video files only");
  if (st.st_size == 0) throw Error(code::kEmptyFile, path + ": file is empty (0 bytes)");
}

int clockwiseRotation(const AVStream* st) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
  const AVPacketSideData* sd = av_packet_side_data_get(st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  const uint8_t* matrix = sd ? sd->data : nullptr;
#else
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
#endif
  if (matrix == nullptr) return 0;
  // av_display_rotation_get is counter-clockwise; players rotate the other way.
  double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90;
  return ((cw % 360) + 360) % 360;
}

}  // namespace

int VideoInput::interrupt(void* opaque) { return static_cast<const StopCondition*>(opaque)->shouldStop() ? 1 : 0; }

void VideoInput::fail(const char* code, const std::string& cause) const {
  if (stop_.cancelled()) throw Error(code::kAborted, path_ + ": operation was aborted");
  if (stop_.timedOut()) throw Error(code::kTimeout, path_ + ": operation timed out");
  throw Error(code, path_ + ": " + cause);
}

VideoInput::VideoInput(std::string path, const StopCondition& stop, const DecoderOptions& decoder) : path_(std::move(path)), stop_(stop) {
  checkPath(path_);
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) throw std::bad_alloc();
  raw->interrupt_callback.callback = &VideoInput::interrupt;
  raw->interrupt_callback.opaque = const_cast<StopCondition*>(&stop_);
  int rc = avformat_open_input(&raw, path_.c_str(), nullptr, nullptr);
  if (rc < 0) {  // avformat_open_input frees the context on failure
    if (rc == AVERROR_INVALIDDATA) fail(code::kInvalidData, "not a readable video container, or truncated (" + av::errorString(rc) + ")");
    if (rc == AVERROR(EACCES) || rc == AVERROR(EPERM) || rc == AVERROR(EIO)) fail(code::kIo, "cannot open (" + av::errorString(rc) + ")");
    // The file exists and is regular (checkPath): what failed is its header, whatever
    // errno the demuxer chose (a y4m header declaring 60000x60000 gives EBUSY).
    fail(code::kInvalidData,
         "the container's header was refused (" + av::errorString(rc) + "): damaged, or it declares a size or format libav cannot take");
  }
  fmt_.reset(raw);
  rc = avformat_find_stream_info(fmt_.get(), nullptr);
  if (rc < 0) fail(code::kInvalidData, "cannot read stream information (" + av::errorString(rc) + ")");

  // Cover art is a video stream too; it is never the clip.
  std::string kinds;
  for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
    AVStream* s = fmt_->streams[i];
    const char* kind = av_get_media_type_string(s->codecpar->codec_type);
    if (!kinds.empty()) kinds += ", ";
    kinds += kind ? kind : "unknown";
    if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO || (s->disposition & AV_DISPOSITION_ATTACHED_PIC)) continue;
    if (stream_ == nullptr || (s->disposition & AV_DISPOSITION_DEFAULT)) {
      if (stream_ == nullptr || !(stream_->disposition & AV_DISPOSITION_DEFAULT)) stream_ = s;
    }
  }
  if (stream_ == nullptr) fail(code::kNoVideoStream, "contains no video stream (streams: " + (kinds.empty() ? std::string("none") : kinds) + ")");
  for (unsigned i = 0; i < fmt_->nb_streams; ++i)
    if (fmt_->streams[i] != stream_) fmt_->streams[i]->discard = AVDISCARD_ALL;

  const AVCodec* dec = avcodec_find_decoder(stream_->codecpar->codec_id);
  if (dec == nullptr) fail(code::kUnsupportedCodec, std::string("no decoder for codec '") + avcodec_get_name(stream_->codecpar->codec_id) + "'");
  codec_.reset(avcodec_alloc_context3(dec));
  if (!codec_) throw std::bad_alloc();
  rc = avcodec_parameters_to_context(codec_.get(), stream_->codecpar);
  if (rc < 0) fail(code::kInvalidData, "bad codec parameters (" + av::errorString(rc) + ")");
  codec_->thread_count = decoder.threads;
  codec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  codec_->pkt_timebase = stream_->time_base;
  codec_->opaque = &damage_;  // before open: frame-thread copies take it over
  rc = avcodec_open2(codec_.get(), dec, nullptr);
  if (rc < 0) fail(code::kUnsupportedCodec, "cannot open decoder (" + av::errorString(rc) + ")");

  rotation_ = clockwiseRotation(stream_);
  AVRational rate = frameRate();
  if (rate.num > 0) {
    frameTicks_ = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(rate), stream_->time_base));
  }
}

int VideoInput::displayWidth() const { return rotation_ == 90 || rotation_ == 270 ? stream_->codecpar->height : stream_->codecpar->width; }

int VideoInput::displayHeight() const { return rotation_ == 90 || rotation_ == 270 ? stream_->codecpar->width : stream_->codecpar->height; }

AVRational VideoInput::frameRate() const {
  AVRational rate = stream_->avg_frame_rate.num > 0 ? stream_->avg_frame_rate : stream_->r_frame_rate;
  return rate.num > 0 && rate.den > 0 ? rate : AVRational{0, 1};
}

int64_t VideoInput::startTicks() const { return stream_->start_time != AV_NOPTS_VALUE ? stream_->start_time : 0; }

int64_t VideoInput::durationTicks() const {
  if (stream_->duration != AV_NOPTS_VALUE && stream_->duration > 0) return stream_->duration;
  if (fmt_->duration != AV_NOPTS_VALUE && fmt_->duration > 0) return av_rescale_q(fmt_->duration, AV_TIME_BASE_Q, stream_->time_base);
  return 0;
}

bool VideoInput::readPacket(AVPacket* pkt) {
  for (;;) {
    int rc = av_read_frame(fmt_.get(), pkt);
    if (rc == AVERROR_EOF) return false;
    if (rc < 0) {
      checkStop();
      readError_ = rc;  // damaged tail: end input, keep what decoded
      return false;
    }
    if (pkt->stream_index == stream_->index) return true;
    av_packet_unref(pkt);
  }
}

bool VideoInput::seek(int64_t ts) { return seekWithFlags(ts, AVSEEK_FLAG_BACKWARD); }

bool VideoInput::seekToIndexedKeyframe(int64_t ts) { return seekWithFlags(ts, 0); }

bool VideoInput::rewind() {
  if (seek(startTicks())) return true;
  // A stream without timestamps (raw .h264) cannot seek by time; by byte it can.
  if (av_seek_frame(fmt_.get(), -1, 0, AVSEEK_FLAG_BYTE) < 0) return false;
  avcodec_flush_buffers(codec_.get());
  readError_ = 0;
  return true;
}

bool VideoInput::seekWithFlags(int64_t ts, int flags) {
  int rc = av_seek_frame(fmt_.get(), stream_->index, ts, flags);
  if (rc < 0) {
    checkStop();
    return false;
  }
  avcodec_flush_buffers(codec_.get());
  readError_ = 0;
  return true;
}

}  // namespace fvc
