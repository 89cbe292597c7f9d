#pragma once
#include <napi.h>

namespace fvc {
// probe(options) and sampleFrames(options): promise-returning video calls.
void registerVideoApi(Napi::Env env, Napi::Object exports);
}  // namespace fvc
