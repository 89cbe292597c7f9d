#pragma once
#include <napi.h>

namespace fvc {
// handcraftedFeatures(options) (promise) and handcraftedFeatureNames() (sync).
void registerFeaturesApi(Napi::Env env, Napi::Object exports);
}  // namespace fvc
