// Entry point of the fvc native addon: registers each concept's API.
#include <napi.h>

#include <cstdlib>
#include <cstring>

extern "C" {
#include <libavutil/log.h>
}

#include <opencv2/core.hpp>

#include "augment/augment_api.h"
#include "classical/classical_api.h"
#include "common/addon_data.h"
#include "common/cancel.h"
#include "deep/deep_api.h"
#include "deep/distributed_api.h"
#include "faces/faces_api.h"
#include "features/features_api.h"
#include "runtime/runtime_api.h"
#include "video/av_util.h"
#include "video/scale_api.h"
#include "video/video_api.h"

namespace {

// libav prints per-macroblock complaints to stderr for damaged files; fvc reports
// damage as warnings on results instead. FVC_AV_LOG=warning|info|debug restores it.
void configureLibavLogging() {
  const char* level = std::getenv("FVC_AV_LOG");
  int l = AV_LOG_QUIET;
  if (level != nullptr) {
    if (std::strcmp(level, "error") == 0) l = AV_LOG_ERROR;
    else if (std::strcmp(level, "warning") == 0) l = AV_LOG_WARNING;
    else if (std::strcmp(level, "info") == 0) l = AV_LOG_INFO;
    else if (std::strcmp(level, "debug") == 0) l = AV_LOG_DEBUG;
  }
  av_log_set_level(l);
  fvc::av::installDamageCounting();
}

// Stages run one video per libuv thread; OpenCV's own thread pool inside each
// would oversubscribe the cores many times over. FVC_OPENCV_THREADS overrides.
void configureOpenCvThreads() {
  const char* n = std::getenv("FVC_OPENCV_THREADS");
  cv::setNumThreads(n != nullptr ? std::atoi(n) : 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  configureLibavLogging();
  configureOpenCvThreads();
  auto* data = new fvc::AddonData();
  Napi::Function tokenCtor = fvc::CancelToken::Define(env);
  data->cancelTokenCtor = Napi::Persistent(tokenCtor);
  env.SetInstanceData(data);
  exports.Set("CancelToken", tokenCtor);
  fvc::registerVideoApi(env, exports);
  fvc::registerRuntimeApi(env, exports);
  fvc::registerFeaturesApi(env, exports);
  fvc::registerScaleApi(env, exports);
  fvc::registerAugmentApi(env, exports);
  fvc::registerClassicalApi(env, exports);
  fvc::registerDeepApi(env, exports);
  fvc::registerDistributedApi(env, exports);
  fvc::registerFacesApi(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(fvc, Init)
