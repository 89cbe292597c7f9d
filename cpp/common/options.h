#pragma once
// Reading typed fields from a JS options object. A wrong type or range is an
// ERR_INVALID_ARGUMENT naming the field, not a crash or a silent default.
#include <napi.h>

#include <string>

namespace fvc::opts {

bool has(const Napi::Object& o, const char* key);  // present and not undefined/null
std::string getString(const Napi::Object& o, const char* key);
std::string getString(const Napi::Object& o, const char* key, const std::string& fallback);
double getNumber(const Napi::Object& o, const char* key, double fallback, double min, double max);
int getInt(const Napi::Object& o, const char* key, int fallback, int min, int max);
bool getBool(const Napi::Object& o, const char* key, bool fallback);
// One overload per field type, for readers generated from a declaration table
// (X(type, name, default, min, max)); a bool ignores the range.
inline int getField(const Napi::Object& o, const char* key, int fallback, double min, double max) {
  return getInt(o, key, fallback, static_cast<int>(min), static_cast<int>(max));
}
inline double getField(const Napi::Object& o, const char* key, double fallback, double min, double max) {
  return getNumber(o, key, fallback, min, max);
}
inline bool getField(const Napi::Object& o, const char* key, bool fallback, double, double) { return getBool(o, key, fallback); }
// The type's name as the TypeScript declaration tables spell it.
inline const char* fieldType(int) { return "int"; }
inline const char* fieldType(double) { return "number"; }
inline const char* fieldType(bool) { return "bool"; }

// Options object at info[index], or an empty object when absent.
Napi::Object argObject(const Napi::CallbackInfo& info, size_t index);
// A promise already rejected with a JS Error carrying `code`.
Napi::Promise rejected(Napi::Env env, const std::string& code, const std::string& message);
// Runs `start` (which validates arguments and queues a worker); an fvc::Error thrown
// while doing so becomes a rejected promise instead of a synchronous throw.
template <typename F>
Napi::Value startAsync(Napi::Env env, F&& start);
// Runs a synchronous call; an exception becomes a thrown JS Error carrying `code`
// (an fvc::Error's own, else `otherCode`).
template <typename F>
Napi::Value guarded(Napi::Env env, F&& call, const char* otherCode = "ERR_NATIVE");

}  // namespace fvc::opts

#include "common/error.h"

template <typename F>
Napi::Value fvc::opts::startAsync(Napi::Env env, F&& start) {
  try {
    return start();
  } catch (const fvc::Error& e) {
    return rejected(env, e.code(), e.what());
  }
}

template <typename F>
Napi::Value fvc::opts::guarded(Napi::Env env, F&& call, const char* otherCode) {
  try {
    return call();
  } catch (const fvc::Error& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", e.code());
    throw err;
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", otherCode);
    throw err;
  }
}
