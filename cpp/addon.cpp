// Entry point of the fvc native addon: registers each concept's API.
#include <napi.h>

#include <cstdlib>
#include <cstring>

extern "C" {
#include <libavutil/log.h>
}

#include "common/addon_data.h"
#include "common/cancel.h"
#include "features/features_api.h"
#include "runtime/runtime_api.h"
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
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  configureLibavLogging();
  auto* data = new fvc::AddonData();
  Napi::Function tokenCtor = fvc::CancelToken::Define(env);
  data->cancelTokenCtor = Napi::Persistent(tokenCtor);
  env.SetInstanceData(data);
  exports.Set("CancelToken", tokenCtor);
  fvc::registerVideoApi(env, exports);
  fvc::registerRuntimeApi(env, exports);
  fvc::registerFeaturesApi(env, exports);
  fvc::registerScaleApi(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(fvc, Init)
