#pragma once
#include <napi.h>

namespace fvc {
void registerDistributedApi(Napi::Env env, Napi::Object exports);
}
