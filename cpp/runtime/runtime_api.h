#pragma once
#include <napi.h>

namespace fvc {
// runtimeInfo(), setThreads(n), resolveDevice(name): cheap synchronous calls.
void registerRuntimeApi(Napi::Env env, Napi::Object exports);
}  // namespace fvc
