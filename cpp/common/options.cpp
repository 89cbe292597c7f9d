#include "common/options.h"

#include <cmath>

namespace fvc::opts {
namespace {
[[noreturn]] void bad(const char* key, const std::string& expected) {
  throw Error(code::kInvalidArgument, std::string(key) + ": must be " + expected);
}
}  // namespace

bool has(const Napi::Object& o, const char* key) {
  if (!o.Has(key)) return false;
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

std::string getString(const Napi::Object& o, const char* key) {
  if (!has(o, key)) throw Error(code::kInvalidArgument, std::string(key) + ": is required");
  Napi::Value v = o.Get(key);
  if (!v.IsString()) bad(key, "a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string getString(const Napi::Object& o, const char* key, const std::string& fallback) { return has(o, key) ? getString(o, key) : fallback; }

double getNumber(const Napi::Object& o, const char* key, double fallback, double min, double max) {
  if (!has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) bad(key, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < min || d > max) bad(key, "between " + std::to_string(min) + " and " + std::to_string(max));
  return d;
}

int getInt(const Napi::Object& o, const char* key, int fallback, int min, int max) {
  double d = getNumber(o, key, fallback, min, max);
  if (std::floor(d) != d) bad(key, "an integer");
  return static_cast<int>(d);
}

bool getBool(const Napi::Object& o, const char* key, bool fallback) {
  if (!has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) bad(key, "true or false");
  return v.As<Napi::Boolean>().Value();
}

Napi::Object argObject(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() > index && info[index].IsObject()) return info[index].As<Napi::Object>();
  if (info.Length() > index && !info[index].IsUndefined()) throw Error(code::kInvalidArgument, "options: must be an object");
  return Napi::Object::New(info.Env());
}

Napi::Promise rejected(Napi::Env env, const std::string& code, const std::string& message) {
  auto d = Napi::Promise::Deferred::New(env);
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", code);
  d.Reject(err.Value());
  return d.Promise();
}

}  // namespace fvc::opts
