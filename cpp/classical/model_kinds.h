#pragma once
// The classical model families behind fitModel/predictModel. Each fits on a
// Dataset, writes its own file format atomically, and predicts P(label = 1).
#include <map>
#include <string>
#include <vector>

#include "classical/dataset.h"

namespace fvc {

using Params = std::map<std::string, std::string>;

struct FitResult {
  int bestIteration = -1;           // boosting: the round kept by early stopping
  double bestScore = 0;             // its validation metric
  std::vector<double> importance;   // boosting: gain per feature (0 when never split on)
  std::vector<double> evalHistory;  // boosting: validation metric per round
};

// liblinear, L2-regularised logistic regression (primal), as scikit-learn's
// LogisticRegression(solver="liblinear"): C, tol (default 1e-4), bias 1.
FitResult fitLogisticRegression(const Dataset& train, const Params& params, const std::string& output);
std::vector<double> predictLogisticRegression(const std::string& modelPath, const Dataset& data);

// libsvm C-SVC with Platt-scaled probabilities: kernel linear|rbf, C, gamma
// (a number, or "scale" = 1 / (cols * var(X)) as scikit-learn), seed for the
// internal cross-validation that fits the probability model.
FitResult fitSvm(const Dataset& train, const Params& params, const std::string& output);
std::vector<double> predictSvm(const std::string& modelPath, const Dataset& data);

// XGBoost through its C API: every entry of params is passed to the booster,
// except num_boost_round and early_stopping_rounds, which drive the loop.
FitResult fitXgboost(const Dataset& train, const Dataset* eval, const Params& params, const std::string& output);
std::vector<double> predictXgboost(const std::string& modelPath, const Dataset& data, int threads);

// The libxgboost the addon runs against: its version (the `device` parameter
// exists from 2.0) and whether it was built with CUDA.
struct XgboostInfo {
  int major = 0, minor = 0, patch = 0;
  bool cuda = false;
};
XgboostInfo xgboostInfo();

double paramNumber(const Params& p, const std::string& key, double fallback);

}  // namespace fvc
