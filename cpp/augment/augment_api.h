#pragma once
#include <napi.h>

namespace fvc {
void registerAugmentApi(Napi::Env env, Napi::Object exports);
}
