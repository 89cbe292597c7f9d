#pragma once
#include <napi.h>

namespace fvc {
// scaleVideo(options): Stage 3, re-encode a video letterboxed to a square.
void registerScaleApi(Napi::Env env, Napi::Object exports);
}  // namespace fvc
