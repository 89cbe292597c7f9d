#include "common/cancel.h"

#include "common/addon_data.h"
#include "common/error.h"

namespace fvc {

Napi::Function CancelToken::Define(Napi::Env env) {
  return DefineClass(env, "CancelToken", {InstanceMethod<&CancelToken::Cancel>("cancel"), InstanceAccessor<&CancelToken::IsCancelled>("cancelled")});
}

CancelToken::CancelToken(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}

Napi::Value CancelToken::Cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value CancelToken::IsCancelled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), flag_->load()); }

CancelFlag CancelToken::FromOptions(const Napi::Object& options, const char* key) {
  if (options.Has(key)) {
    Napi::Value v = options.Get(key);
    if (v.IsObject()) {
      Napi::Object obj = v.As<Napi::Object>();
      // Unwrap only genuine tokens: any other wrapped object would be misread.
      AddonData* data = obj.Env().GetInstanceData<AddonData>();
      if (data != nullptr && obj.InstanceOf(data->cancelTokenCtor.Value())) {
        return CancelToken::Unwrap(obj)->flag();
      }
    }
    throw Error(code::kInvalidArgument, std::string("options.") + key + " must be a CancelToken");
  }
  return std::make_shared<std::atomic<bool>>(false);
}

}  // namespace fvc
