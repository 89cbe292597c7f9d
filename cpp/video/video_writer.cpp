#include "video/video_writer.h"

#include <algorithm>
#include <cstdio>

extern "C" {
#include <libavutil/opt.h>
}

#include "common/error.h"
#include "io/atomic_file.h"

namespace fvc {

void VideoWriter::fail(const std::string& what, int rc) const {
  throw Error(code::kIo, path_ + ": " + what + (rc < 0 ? " (" + av::errorString(rc) + ")" : std::string()));
}

VideoWriter::TempFile::~TempFile() {
  if (!keep && !path.empty()) std::remove(path.c_str());
}

VideoWriter::VideoWriter(std::string path, const EncoderOptions& options) : path_(std::move(path)), opt_(options) {
  if (opt_.width <= 0 || opt_.height <= 0 || opt_.width % 2 || opt_.height % 2)
    throw Error(code::kInvalidArgument,
                path_ + ": encoded size must be even and positive (got " + std::to_string(opt_.width) + "x" + std::to_string(opt_.height) + ")");
  temp_.path = temporaryName(path_);  // the muxer is named, so the name needs no .mp4
  AVFormatContext* raw = nullptr;
  int rc = avformat_alloc_output_context2(&raw, nullptr, "mp4", temp_.path.c_str());
  if (rc < 0 || raw == nullptr) fail("cannot create MP4 muxer", rc);
  fmt_.reset(raw);
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (codec == nullptr) codec = avcodec_find_encoder(AV_CODEC_ID_H264);
  if (codec == nullptr) throw Error(code::kUnsupportedCodec, path_ + ": no H.264 encoder in this FFmpeg build");
  enc_.reset(avcodec_alloc_context3(codec));
  enc_->width = opt_.width;
  enc_->height = opt_.height;
  enc_->pix_fmt = AV_PIX_FMT_YUV420P;
  enc_->time_base = opt_.timeBase;
  enc_->framerate = opt_.frameRate;
  enc_->thread_count = opt_.threads;
  if (fmt_->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(enc_->priv_data, "preset", opt_.preset.c_str(), 0);
  av_opt_set_int(enc_->priv_data, "crf", opt_.crf, 0);
  if (!opt_.x264Params.empty()) av_opt_set(enc_->priv_data, "x264-params", opt_.x264Params.c_str(), 0);
  rc = avcodec_open2(enc_.get(), codec, nullptr);
  if (rc < 0) fail("cannot open the H.264 encoder", rc);
  stream_ = avformat_new_stream(fmt_.get(), nullptr);
  if (stream_ == nullptr) throw std::bad_alloc();
  stream_->time_base = opt_.timeBase;
  avcodec_parameters_from_context(stream_->codecpar, enc_.get());
  rc = avio_open(&fmt_->pb, temp_.path.c_str(), AVIO_FLAG_WRITE);
  if (rc < 0) fail("cannot create file", rc);
  rc = avformat_write_header(fmt_.get(), nullptr);
  if (rc < 0) fail("cannot write MP4 header", rc);

  sws_.reset(sws_getContext(opt_.width, opt_.height, AV_PIX_FMT_RGB24, opt_.width, opt_.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR | SWS_ACCURATE_RND,
                            nullptr, nullptr, nullptr));
  frame_ = av::allocFrame();
  frame_->format = AV_PIX_FMT_YUV420P;
  frame_->width = opt_.width;
  frame_->height = opt_.height;
  if (av_frame_get_buffer(frame_.get(), 0) < 0) throw std::bad_alloc();
  pkt_ = av::allocPacket();
}

VideoWriter::~VideoWriter() = default;

void VideoWriter::write(const uint8_t* rgb, int64_t pts) {
  if (av_frame_make_writable(frame_.get()) < 0) throw std::bad_alloc();
  const uint8_t* src[4] = {rgb, nullptr, nullptr, nullptr};
  int srcStride[4] = {opt_.width * 3, 0, 0, 0};
  sws_scale(sws_.get(), src, srcStride, 0, opt_.height, frame_->data, frame_->linesize);
  if (lastPts_ != INT64_MIN && pts <= lastPts_) pts = lastPts_ + 1;  // the encoder needs rising timestamps
  lastPts_ = pts;
  frame_->pts = pts;
  int rc = avcodec_send_frame(enc_.get(), frame_.get());
  if (rc < 0) fail("encoding failed", rc);
  ++frames_;
  drain();
}

void VideoWriter::drain() {
  for (;;) {
    int rc = avcodec_receive_packet(enc_.get(), pkt_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    if (rc < 0) fail("encoding failed", rc);
    // x264 leaves durations unset; without them the MP4's duration would end at
    // the last frame's start and shift every uniform-sampling target.
    if (pkt_->duration <= 0) pkt_->duration = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(opt_.frameRate), enc_->time_base));
    av_packet_rescale_ts(pkt_.get(), enc_->time_base, stream_->time_base);
    pkt_->stream_index = stream_->index;
    rc = av_interleaved_write_frame(fmt_.get(), pkt_.get());
    if (rc < 0) fail("cannot write to file", rc);
  }
}

void VideoWriter::finish() {
  if (frames_ == 0) throw Error(code::kDecode, path_ + ": no frames to write");
  int rc = avcodec_send_frame(enc_.get(), nullptr);
  if (rc < 0) fail("encoding failed", rc);
  drain();
  rc = av_write_trailer(fmt_.get());
  if (rc < 0) fail("cannot finish MP4", rc);
  avio_closep(&fmt_->pb);
  if (std::rename(temp_.path.c_str(), path_.c_str()) != 0) fail("cannot rename temporary file into place", 0);
  temp_.keep = true;
}

}  // namespace fvc
