#pragma once
// Per-environment state of the addon (one per Node realm / worker thread).
#include <napi.h>

namespace fvc {

struct AddonData {
  Napi::FunctionReference cancelTokenCtor;
};

}  // namespace fvc
