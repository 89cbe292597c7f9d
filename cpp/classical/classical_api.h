#pragma once
#include <napi.h>

namespace fvc {
void registerClassicalApi(Napi::Env env, Napi::Object exports);
}
