#include <linear.h>

#include <cmath>
#include <memory>

#include "common/error.h"
#include "models/model_kinds.h"

namespace fvc {
namespace {

void quiet(const char*) {}

// liblinear wants sparse rows ending in index -1; with bias it appends the
// bias feature (index cols+1) itself from prob.bias only in training, so rows
// carry room for it.
struct SparseRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;
  SparseRows(const Dataset& d, double bias) {
    const int width = d.cols + (bias >= 0 ? 1 : 0) + 1;
    nodes.resize(static_cast<size_t>(d.rows) * width);
    rows.resize(d.rows);
    for (int i = 0; i < d.rows; ++i) {
      feature_node* n = &nodes[static_cast<size_t>(i) * width];
      rows[i] = n;
      const double* x = d.row(i);
      int k = 0;
      for (int j = 0; j < d.cols; ++j) n[k++] = feature_node{j + 1, x[j]};
      if (bias >= 0) n[k++] = feature_node{d.cols + 1, bias};
      n[k] = feature_node{-1, 0};
    }
  }
};

struct ModelDeleter {
  void operator()(model* m) const { free_and_destroy_model(&m); }
};

}  // namespace

double paramNumber(const Params& p, const std::string& key, double fallback) {
  auto it = p.find(key);
  if (it == p.end()) return fallback;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (...) {}
  throw Error(code::kInvalidArgument, "params." + key + ": '" + it->second + "' is not a number");
}

FitResult fitLogisticRegression(const Dataset& d, const Params& params, const std::string& output) {
  set_print_string_function(quiet);
  const double bias = 1.0;  // scikit-learn's intercept_scaling
  SparseRows rows(d, bias);
  problem prob{};
  prob.l = d.rows;
  prob.n = d.cols + 1;
  prob.y = const_cast<double*>(d.y.data());
  prob.x = rows.rows.data();
  prob.bias = bias;
  parameter param{};
  param.solver_type = L2R_LR;
  param.C = paramNumber(params, "C", 1.0);
  param.eps = paramNumber(params, "tol", 1e-4);
  if (const char* err = check_parameter(&prob, &param)) throw Error(code::kModel, std::string("liblinear: ") + err);
  std::unique_ptr<model, ModelDeleter> m(train(&prob, &param));
  if (!m) throw Error(code::kModel, "liblinear: training failed");
  saveAtomically(output, [&](const std::string& tmp) { return save_model(tmp.c_str(), m.get()) == 0; });
  return {};
}

std::vector<double> predictLogisticRegression(const std::string& modelPath, const Dataset& d) {
  std::unique_ptr<model, ModelDeleter> m(load_model(modelPath.c_str()));
  if (!m) throw Error(code::kModel, modelPath + ": not a liblinear model file");
  // liblinear's reader takes the header at its word: a damaged file (a lost label line,
  // another class count) loads and then crashes or mislabels in predict. Check what
  // fvc's binary logistic regression needs before using it.
  const bool binary = m->nr_class == 2 && m->label != nullptr && m->w != nullptr &&
                      ((m->label[0] == 0 && m->label[1] == 1) || (m->label[0] == 1 && m->label[1] == 0));
  if (!binary || m->param.solver_type != L2R_LR)
    throw Error(code::kInvalidData, modelPath + ": damaged liblinear model (not a binary L2R_LR model with labels 0 and 1)");
  const int weights = m->nr_feature + (m->bias >= 0 ? 1 : 0);
  for (int i = 0; i < weights; ++i)
    if (!std::isfinite(m->w[i]))
      throw Error(code::kInvalidData, modelPath + ": damaged liblinear model (weight " + std::to_string(i) + " is not finite)");
  if (get_nr_feature(m.get()) != d.cols)
    throw Error(code::kInvalidArgument,
                modelPath + ": model has " + std::to_string(get_nr_feature(m.get())) + " features, input has " + std::to_string(d.cols));
  int labels[2] = {0, 0};
  get_labels(m.get(), labels);
  int pos = labels[0] == 1 ? 0 : 1;
  SparseRows rows(d, m->bias);
  std::vector<double> out(d.rows);
  double p[2];
  for (int i = 0; i < d.rows; ++i) {
    predict_probability(m.get(), rows.rows[i], p);
    out[i] = p[pos];
  }
  return out;
}

}  // namespace fvc
