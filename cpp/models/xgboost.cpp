#include <xgboost/c_api.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <memory>

#include "common/error.h"
#include "models/model_kinds.h"

namespace fvc {
namespace {

void check(int rc, const std::string& what) {
  if (rc != 0) throw Error(code::kModel, "xgboost: " + what + ": " + XGBGetLastError());
}

struct Matrix {
  DMatrixHandle h = nullptr;
  Matrix(const Dataset& d) {
    std::vector<float> f(d.x.begin(), d.x.end());
    check(XGDMatrixCreateFromMat(f.data(), d.rows, d.cols, std::nanf(""), &h), "cannot build the feature matrix");
    if (!d.y.empty()) {
      std::vector<float> y(d.y.begin(), d.y.end());
      check(XGDMatrixSetFloatInfo(h, "label", y.data(), y.size()), "cannot set labels");
    }
  }
  ~Matrix() {
    if (h) XGDMatrixFree(h);
  }
};

struct Booster {
  BoosterHandle h = nullptr;
  Booster(const DMatrixHandle* cache, int n) { check(XGBoosterCreate(cache, n, &h), "cannot create a booster"); }
  ~Booster() {
    if (h) XGBoosterFree(h);
  }
};

// "[3]\teval-logloss:0.41235" -> 0.41235
double lastMetric(const char* s) {
  const char* colon = std::strrchr(s, ':');
  return colon ? std::strtod(colon + 1, nullptr) : NAN;
}

bool lowerIsBetter(const std::string& metric) {
  return !(metric == "auc" || metric == "aucpr" || metric == "map" || metric.rfind("ndcg", 0) == 0);
}

std::vector<double> predict(BoosterHandle b, DMatrixHandle m, int iterationEnd) {
  std::string config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": )" +
                       std::to_string(iterationEnd) + R"(, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(b, m, config.c_str(), &shape, &dim, &result), "prediction failed");
  bst_ulong n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<double>(result, result + n);
}

}  // namespace

FitResult fitXgboost(const Dataset& train, const Dataset* eval, const Params& params, const std::string& output) {
  const int rounds = static_cast<int>(paramNumber(params, "num_boost_round", 100));
  const int patience = static_cast<int>(paramNumber(params, "early_stopping_rounds", 0));
  Matrix dtrain(train);
  std::unique_ptr<Matrix> deval(eval ? new Matrix(*eval) : nullptr);
  DMatrixHandle cache[2] = {dtrain.h, deval ? deval->h : nullptr};
  Booster b(cache, deval ? 2 : 1);
  std::string metric = "logloss";
  for (const auto& [k, v] : params) {
    if (k == "num_boost_round" || k == "early_stopping_rounds") continue;
    if (k == "eval_metric") metric = v;
    check(XGBoosterSetParam(b.h, k.c_str(), v.c_str()), "parameter " + k + "=" + v);
  }
  if (!params.count("eval_metric")) check(XGBoosterSetParam(b.h, "eval_metric", metric.c_str()), "eval_metric");
  FitResult r;
  const bool lower = lowerIsBetter(metric);
  r.bestIteration = rounds - 1;
  r.bestScore = lower ? INFINITY : -INFINITY;
  const char* names[1] = {"eval"};
  for (int it = 0; it < rounds; ++it) {
    check(XGBoosterUpdateOneIter(b.h, it, dtrain.h), "training round " + std::to_string(it));
    if (!deval) continue;
    const char* out = nullptr;
    check(XGBoosterEvalOneIter(b.h, it, &deval->h, names, 1, &out), "evaluation");
    double score = lastMetric(out);
    r.evalHistory.push_back(score);
    if (lower ? score < r.bestScore : score > r.bestScore) {
      r.bestScore = score;
      r.bestIteration = it;
    } else if (patience > 0 && it - r.bestIteration >= patience) {
      break;
    }
  }
  if (!deval) r.bestScore = NAN;
  // Saved as the Python package does, so its predict() and ours stop at the same round.
  std::string best = std::to_string(r.bestIteration);
  check(XGBoosterSetAttr(b.h, "best_iteration", best.c_str()), "best_iteration");
  check(XGBoosterSetAttr(b.h, "best_ntree_limit", std::to_string(r.bestIteration + 1).c_str()), "best_ntree_limit");

  // Gain per split averaged over splits, as get_score(importance_type="gain").
  r.importance.assign(train.cols, 0.0);
  bst_ulong nFeatures = 0, dim = 0;
  const char** featureNames = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  check(XGBoosterFeatureScore(b.h, R"({"importance_type": "gain"})", &nFeatures, &featureNames, &dim, &shape, &scores),
        "feature importance");
  for (bst_ulong i = 0; i < nFeatures; ++i) {
    // Unnamed features are reported as "f<index>".
    const char* name = featureNames[i];
    if (name[0] == 'f') {
      int idx = std::atoi(name + 1);
      if (idx >= 0 && idx < train.cols) r.importance[idx] = scores[i];
    }
  }
  saveAtomically(output, [&](const std::string& tmp) { return XGBoosterSaveModel(b.h, tmp.c_str()) == 0; });
  return r;
}

std::vector<double> predictXgboost(const std::string& modelPath, const Dataset& data, int threads) {
  Matrix m(data);
  Booster b(nullptr, 0);
  check(XGBoosterLoadModel(b.h, modelPath.c_str()), modelPath + ": cannot load");
  check(XGBoosterSetParam(b.h, "nthread", std::to_string(threads).c_str()), "nthread");
  bst_ulong nFeatures = 0;
  check(XGBoosterGetNumFeature(b.h, &nFeatures), "feature count");
  if (static_cast<int>(nFeatures) != data.cols)
    throw Error(code::kInvalidArgument, modelPath + ": model has " + std::to_string(nFeatures) + " features, input has " +
                                            std::to_string(data.cols));
  int end = 0;
  const char* best = nullptr;
  int success = 0;
  check(XGBoosterGetAttr(b.h, "best_iteration", &best, &success), "best_iteration");
  if (success && best) end = std::atoi(best) + 1;
  return predict(b.h, m.h, end);
}

}  // namespace fvc
