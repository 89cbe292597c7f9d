#pragma once
#include <napi.h>

namespace fvc {
void registerModelsApi(Napi::Env env, Napi::Object exports);
}
