#pragma once
#include <napi.h>

namespace fvc {
void registerDeepApi(Napi::Env env, Napi::Object exports);
}
