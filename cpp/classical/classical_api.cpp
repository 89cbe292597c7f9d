#include "classical/classical_api.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "classical/model_kinds.h"
#include "common/error.h"
#include "common/options.h"
#include "common/worker.h"

namespace fvc {
namespace {

enum class Kind { LogisticRegression, Svm, Xgboost };

// Copies `<prefix>` (Float64Array of rows*cols), `<prefix>Rows`, `cols` and, when
// labelKey is given, the labels (Float64Array of 0/1) out of JS. Rejects NaN/inf with
// the row and column, since every model library would silently misbehave on them.
std::vector<double> readFloat64(const Napi::Object& o, const char* key) {
  if (!opts::has(o, key)) throw Error(code::kInvalidArgument, std::string(key) + ": is required");
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Error(code::kInvalidArgument, std::string(key) + ": must be a Float64Array");
  auto a = v.As<Napi::Float64Array>();
  return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}

Dataset readDataset(const Napi::Object& o, const char* xKey, const char* rowsKey, const char* labelKey) {
  Dataset d;
  d.cols = opts::getInt(o, "cols", 0, 1, 1 << 24);
  d.rows = opts::getInt(o, rowsKey, 0, 1, 1 << 30);
  d.x = readFloat64(o, xKey);
  if (d.x.size() != static_cast<size_t>(d.rows) * d.cols)
    throw Error(code::kInvalidArgument, std::string(xKey) + ": holds " + std::to_string(d.x.size()) + " values, not " + std::to_string(d.rows) +
                                            " rows x " + std::to_string(d.cols) + " columns");
  for (size_t i = 0; i < d.x.size(); ++i)
    if (!std::isfinite(d.x[i]))
      throw Error(code::kInvalidData,
                  std::string(xKey) + ": row " + std::to_string(i / d.cols) + ", column " + std::to_string(i % d.cols) + " is not a finite number");
  if (labelKey != nullptr) {
    d.y = readFloat64(o, labelKey);
    if (d.y.size() != static_cast<size_t>(d.rows))
      throw Error(code::kInvalidArgument,
                  std::string(labelKey) + ": " + std::to_string(d.y.size()) + " labels for " + std::to_string(d.rows) + " rows");
    for (size_t i = 0; i < d.y.size(); ++i)
      if (d.y[i] != 0.0 && d.y[i] != 1.0) throw Error(code::kInvalidData, std::string(labelKey) + ": row " + std::to_string(i) + " is not 0 or 1");
  }
  return d;
}

Kind parseKind(const std::string& k) {
  if (k == "logistic_regression") return Kind::LogisticRegression;
  if (k == "svm") return Kind::Svm;
  if (k == "xgboost") return Kind::Xgboost;
  throw Error(code::kInvalidArgument, "kind: '" + k + "' is not logistic_regression, svm or xgboost");
}

Params readParams(const Napi::Object& o) {
  Params p;
  if (!opts::has(o, "params")) return p;
  Napi::Value v = o.Get("params");
  if (!v.IsObject()) throw Error(code::kInvalidArgument, "params: must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  Napi::Array keys = obj.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value val = obj.Get(k);
    if (val.IsString()) p[k] = val.As<Napi::String>().Utf8Value();
    else if (val.IsNumber()) {
      // Shortest text that reads back as the same double, so 0.1 stays "0.1".
      char buf[32];
      double d = val.As<Napi::Number>().DoubleValue();
      // Integers are written plainly: XGBoost reads "10", not "1e+01", as a long.
      if (std::abs(d) < 1e15 && d == std::trunc(d)) {
        std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(d));
      } else {
        for (int prec = 1; prec <= 17; ++prec) {
          std::snprintf(buf, sizeof(buf), "%.*g", prec, d);
          if (std::strtod(buf, nullptr) == d) break;
        }
      }
      p[k] = buf;
    } else if (val.IsBoolean()) p[k] = val.As<Napi::Boolean>().Value() ? "true" : "false";
    else throw Error(code::kInvalidArgument, "params." + k + ": must be a string, number or boolean");
  }
  return p;
}

Napi::Float64Array toArray(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

class FitWorker : public PromiseWorker {
 public:
  FitWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        kind_(parseKind(opts::getString(o, "kind"))),
        output_(opts::getString(o, "output")),
        params_(readParams(o)),
        train_(readDataset(o, "x", "rows", "y")) {
    if (opts::has(o, "evalX")) {
      eval_ = readDataset(o, "evalX", "evalRows", "evalY");
      hasEval_ = true;
    }
    bool one = true, zero = true;
    for (double y : train_.y) (y == 1.0 ? zero : one) = false;
    if (one || zero) throw Error(code::kInvalidData, "y: the training rows hold only one class");
  }

 protected:
  void Run(const ExecutionProgress&) override {
    switch (kind_) {
      case Kind::LogisticRegression:
        r_ = fitLogisticRegression(train_, params_, output_);
        break;
      case Kind::Svm:
        r_ = fitSvm(train_, params_, output_);
        break;
      case Kind::Xgboost:
        r_ = fitXgboost(train_, hasEval_ ? &eval_ : nullptr, params_, output_);
        break;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", output_);
    if (kind_ == Kind::Xgboost) {
      o.Set("bestIteration", r_.bestIteration);
      o.Set("bestScore", r_.bestScore);
      o.Set("importance", toArray(env, r_.importance));
      o.Set("evalHistory", toArray(env, r_.evalHistory));
    }
    return o;
  }

 private:
  Kind kind_;
  std::string output_;
  Params params_;
  Dataset train_, eval_;
  bool hasEval_ = false;
  FitResult r_;
};

class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, const Napi::Object& o)
      : PromiseWorker(env, o),
        kind_(parseKind(opts::getString(o, "kind"))),
        model_(opts::getString(o, "model")),
        threads_(opts::getInt(o, "threads", 1, 0, 1024)),
        data_(readDataset(o, "x", "rows", nullptr)) {}

 protected:
  void Run(const ExecutionProgress&) override {
    switch (kind_) {
      case Kind::LogisticRegression:
        p_ = predictLogisticRegression(model_, data_);
        break;
      case Kind::Svm:
        p_ = predictSvm(model_, data_);
        break;
      case Kind::Xgboost:
        p_ = predictXgboost(model_, data_, threads_);
        break;
    }
  }
  Napi::Value Result(Napi::Env env) override { return toArray(env, p_); }

 private:
  Kind kind_;
  std::string model_;
  int threads_;
  Dataset data_;
  std::vector<double> p_;
};

Napi::Value Fit(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new FitWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value Predict(const Napi::CallbackInfo& info) {
  return opts::startAsync(info.Env(), [&]() -> Napi::Value { return Queue(new PredictWorker(info.Env(), opts::argObject(info, 0))); });
}

Napi::Value XgboostInfoFn(const Napi::CallbackInfo& info) {
  XgboostInfo x = xgboostInfo();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("version", std::to_string(x.major) + "." + std::to_string(x.minor) + "." + std::to_string(x.patch));
  o.Set("major", x.major);
  o.Set("cuda", x.cuda);
  return o;
}

}  // namespace

void registerClassicalApi(Napi::Env env, Napi::Object exports) {
  exports.Set("fitModel", Napi::Function::New(env, Fit, "fitModel"));
  exports.Set("predictModel", Napi::Function::New(env, Predict, "predictModel"));
  exports.Set("xgboostInfo", Napi::Function::New(env, XgboostInfoFn, "xgboostInfo"));
}

}  // namespace fvc
