#include <xgboost/c_api.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>

#include "classical/model_kinds.h"
#include "classical/xgboost_thread.h"
#include "common/error.h"

namespace fvc {
namespace {

void check(int rc, const std::string& what) {
  if (rc != 0) throw Error(code::kModel, "xgboost: " + what + ": " + XGBGetLastError());
}

// Array-interface description of a row-major float64 block, as XGBoost reads it
// without a copy (the numpy path of the Python package).
std::string arrayInterface(const Dataset& d) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), R"({"data": [%llu, true], "shape": [%d, %d], "typestr": "<f8", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(d.x.data())), d.rows, d.cols);
  return buf;
}

struct Matrix {
  DMatrixHandle h = nullptr;
  Matrix(const Dataset& d, int threads) {
    const std::string config = R"({"missing": NaN, "nthread": )" + std::to_string(threads) + "}";
    check(XGDMatrixCreateFromDense(arrayInterface(d).c_str(), config.c_str(), &h), "cannot build the feature matrix");
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

bool lowerIsBetter(const std::string& metric) { return !(metric == "auc" || metric == "aucpr" || metric == "map" || metric.rfind("ndcg", 0) == 0); }

// In-place prediction on the caller's float64 rows (no DMatrix copy), up to
// iterationEnd rounds (0 = all).
std::vector<double> predictDense(BoosterHandle b, const Dataset& d, int iterationEnd) {
  const std::string values = arrayInterface(d);
  std::string config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": )" + std::to_string(iterationEnd) +
                       R"(, "strict_shape": false, "cache_id": 0, "missing": NaN})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDense(b, values.c_str(), config.c_str(), nullptr, &shape, &dim, &result), "prediction failed");
  bst_ulong n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<double>(result, result + n);
}

// Loaded boosters, most recently used first, so per-video inference does not
// parse the model JSON on every call. A file replaced on disk (new size or
// mtime or inode, as after an atomic rename) is loaded again. Touched only on the XGBoost thread.
struct LoadedModel {
  std::string path;
  off_t size = 0;
  ino_t inode = 0;
  int64_t mtimeNs = 0;
  std::unique_ptr<Booster> booster;
  int features = 0;
  int iterationEnd = 0;
  int threads = -1;
};

LoadedModel& loadCached(const std::string& path) {
  static std::list<LoadedModel> cache;
  constexpr size_t kCapacity = 16;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error(code::kFileNotFound, path + ": no such model file");
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (it->path != path) continue;
    if (it->size == st.st_size && it->mtimeNs == mtime && it->inode == st.st_ino) {
      cache.splice(cache.begin(), cache, it);
      return cache.front();
    }
    cache.erase(it);
    break;
  }
  LoadedModel m;
  m.path = path;
  m.size = st.st_size;
  m.inode = st.st_ino;
  m.mtimeNs = mtime;
  m.booster = std::make_unique<Booster>(nullptr, 0);
  check(XGBoosterLoadModel(m.booster->h, path.c_str()), path + ": cannot load");
  bst_ulong nFeatures = 0;
  check(XGBoosterGetNumFeature(m.booster->h, &nFeatures), "feature count");
  m.features = static_cast<int>(nFeatures);
  const char* best = nullptr;
  int success = 0;
  check(XGBoosterGetAttr(m.booster->h, "best_iteration", &best, &success), "best_iteration");
  if (success && best) m.iterationEnd = std::atoi(best) + 1;
  cache.push_front(std::move(m));
  if (cache.size() > kCapacity) cache.pop_back();
  return cache.front();
}

FitResult fitOnThread(const Dataset& train, const Dataset* eval, const Params& params, const std::string& output) {
  const int rounds = static_cast<int>(paramNumber(params, "num_boost_round", 100));
  const int patience = static_cast<int>(paramNumber(params, "early_stopping_rounds", 0));
  const int threads = static_cast<int>(paramNumber(params, "nthread", 0));
  Matrix dtrain(train, threads);
  std::unique_ptr<Matrix> deval(eval ? new Matrix(*eval, threads) : nullptr);
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
  check(XGBoosterFeatureScore(b.h, R"({"importance_type": "gain"})", &nFeatures, &featureNames, &dim, &shape, &scores), "feature importance");
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

}  // namespace

FitResult fitXgboost(const Dataset& train, const Dataset* eval, const Params& params, const std::string& output) {
  FitResult r;
  runOnXgboostThread([&] { r = fitOnThread(train, eval, params, output); });
  return r;
}

std::vector<double> predictXgboost(const std::string& modelPath, const Dataset& data, int threads) {
  std::vector<double> out;
  runOnXgboostThread([&] {
    LoadedModel& m = loadCached(modelPath);
    if (m.features != data.cols)
      throw Error(code::kInvalidArgument,
                  modelPath + ": model has " + std::to_string(m.features) + " features, input has " + std::to_string(data.cols));
    if (m.threads != threads) {
      check(XGBoosterSetParam(m.booster->h, "nthread", std::to_string(threads).c_str()), "nthread");
      m.threads = threads;
    }
    out = predictDense(m.booster->h, data, m.iterationEnd);
  });
  return out;
}

XgboostInfo xgboostInfo() {
  XgboostInfo info;
  XGBoostVersion(&info.major, &info.minor, &info.patch);
  const char* build = nullptr;
  if (XGBuildInfo(&build) == 0 && build) {
    // {"USE_CUDA": true, ...}: a build without CUDA may omit the key.
    const char* key = std::strstr(build, "\"USE_CUDA\"");
    if (key) {
      const char* colon = std::strchr(key, ':');
      while (colon && (*++colon == ' ')) {}
      info.cuda = colon && std::strncmp(colon, "true", 4) == 0;
    }
  }
  return info;
}

}  // namespace fvc
