#include "runtime/runtime_api.h"

#include <dlfcn.h>
#include <linear.h>
#include <svm.h>
#include <xgboost/c_api.h>

#include <opencv2/core/version.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}

#include "common/error.h"
#include "common/options.h"
#include "torch/cpu_allocator.h"
#include "torch/runtime.h"

namespace fvc {
namespace {

std::string libavVersion(unsigned v) {
  return std::to_string(AV_VERSION_MAJOR(v)) + "." + std::to_string(AV_VERSION_MINOR(v)) + "." + std::to_string(AV_VERSION_MICRO(v));
}

std::string libraryOf(void* symbol) {
  Dl_info where{};
  return dladdr(symbol, &where) && where.dli_fname ? where.dli_fname : "";
}

std::string dotted(int v) {  // liblinear/libsvm encode 2.47 as 247
  return std::to_string(v / 100) + "." + std::to_string(v % 100);
}

Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return opts::guarded(env, [&]() -> Napi::Value {
    Napi::Object versions = Napi::Object::New(env);
    versions.Set("libavformat", libavVersion(avformat_version()));
    versions.Set("libavcodec", libavVersion(avcodec_version()));
    versions.Set("libswscale", libavVersion(swscale_version()));
    versions.Set("libavutil", libavVersion(avutil_version()));
    versions.Set("ffmpeg", av_version_info());
    versions.Set("opencv", CV_VERSION);
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    versions.Set("xgboost", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
    versions.Set("liblinear", dotted(liblinear_version));
    versions.Set("libsvm", dotted(libsvm_version));
    versions.Set("torch", torchrt::version());
    Napi::Object torch = Napi::Object::New(env);
    torch.Set("cudaAvailable", torchrt::cudaAvailable());
    torch.Set("cudaDeviceCount", torchrt::cudaDeviceCount());
    torch.Set("threads", torchrt::intraOpThreads());
    const torchrt::CpuCacheStats c = torchrt::cpuCacheStats();
    Napi::Object cache = Napi::Object::New(env);
    cache.Set("cachedBytes", static_cast<double>(c.cachedBytes));
    cache.Set("liveBytes", static_cast<double>(c.liveBytes));
    cache.Set("hits", static_cast<double>(c.hits));
    cache.Set("misses", static_cast<double>(c.misses));
    torch.Set("cpuCache", cache);
    // Which files this process runs: a CUDA LibTorch built in by FVC_LIBTORCH, or a CPU prebuild.
    Napi::Object libraries = Napi::Object::New(env);
    libraries.Set("torch", torchrt::libraryPath());
    libraries.Set("xgboost", libraryOf(reinterpret_cast<void*>(&XGBoostVersion)));
    libraries.Set("addon", libraryOf(reinterpret_cast<void*>(&RuntimeInfo)));
    torch.Set("buildConfig", torchrt::buildConfig());
    Napi::Object o = Napi::Object::New(env);
    o.Set("versions", versions);
    o.Set("torch", torch);
    o.Set("libraries", libraries);
    return o;
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return opts::guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Error(code::kInvalidArgument, "threads: must be a number");
    torchrt::setThreads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

Napi::Value ResolveDevice(const Napi::CallbackInfo& info) {
  return opts::guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw Error(code::kInvalidArgument, "device: must be a string");
    return Napi::String::New(info.Env(), torchrt::resolveDevice(info[0].As<Napi::String>().Utf8Value()));
  });
}

Napi::Value CheckKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return opts::guarded(env, [&]() -> Napi::Value {
    const std::vector<torchrt::KernelCheck> checks = torchrt::checkKernels();
    Napi::Array out = Napi::Array::New(env, checks.size());
    for (size_t i = 0; i < checks.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("kernel", checks[i].kernel);
      o.Set("shape", checks[i].shape);
      o.Set("forward", checks[i].forward);
      o.Set("gradInput", checks[i].gradInput);
      o.Set("gradWeight", checks[i].gradWeight);
      o.Set("largest", checks[i].largest());
      o.Set("ok", checks[i].ok());
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  });
}

}  // namespace

void registerRuntimeApi(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfo, "runtimeInfo"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("resolveDevice", Napi::Function::New(env, ResolveDevice, "resolveDevice"));
  exports.Set("checkKernels", Napi::Function::New(env, CheckKernels, "checkKernels"));
}

}  // namespace fvc
