#include <linear.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "classical/model_kinds.h"
#include "classical/model_text.h"
#include "common/error.h"

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

// fvc reads the model file itself rather than through liblinear's load_model, which
// takes the header at its word (a lost label line loads and then crashes
// predict_values) and leaks its FILE on every malformed file (fuzz/README.md). The
// format is liblinear's save_model output for a binary L2R_LR model: header lines,
// "w", then one weight per feature (plus the bias weight), each finite.
std::unique_ptr<model, ModelDeleter> loadModelFile(const std::string& path) {
  const std::string text = readModelText(path, "liblinear");
  auto fail = [&](const std::string& why) -> void { throw Error(code::kInvalidData, path + ": damaged liblinear model (" + why + ")"); };
  std::istringstream lines(text);
  std::string line, key;
  int nrClass = 0, nrFeature = -1, labels[2] = {-1, -1};
  double bias = -1;
  bool solver = false, sawW = false;
  while (!sawW && std::getline(lines, line)) {
    std::istringstream words(line);
    words >> key;
    std::string w;
    if (key == "solver_type") solver = (words >> w) && w == "L2R_LR";
    else if (key == "nr_class") words >> nrClass;
    else if (key == "label") words >> labels[0] >> labels[1];
    else if (key == "nr_feature") words >> nrFeature;
    else if (key == "bias") {
      if (!(words >> w) || !finiteNumber(w)) fail("bias is not a finite number");
      bias = std::strtod(w.c_str(), nullptr);
    } else if (key == "w") sawW = true;
    else fail("unknown header line '" + line.substr(0, 40) + "'");
  }
  if (!solver) fail("not an L2R_LR model");
  if (nrClass != 2 || !((labels[0] == 0 && labels[1] == 1) || (labels[0] == 1 && labels[1] == 0))) fail("not two classes labelled 0 and 1");
  if (nrFeature < 1 || nrFeature > (1 << 24) || !sawW) fail("no feature count or no weights");
  const int weights = nrFeature + (bias >= 0 ? 1 : 0);
  std::vector<double> w;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string v, extra;
    if (!(words >> v) || (words >> extra) || !finiteNumber(v)) fail("weight line " + std::to_string(w.size() + 1) + " is not one finite number");
    w.push_back(std::strtod(v.c_str(), nullptr));
  }
  if (static_cast<int>(w.size()) != weights)
    fail(std::to_string(w.size()) + " weights for " + std::to_string(nrFeature) + " features" + (bias >= 0 ? " and a bias" : ""));
  // Allocated as liblinear allocates, so free_and_destroy_model releases it.
  model* m = static_cast<model*>(std::calloc(1, sizeof(model)));
  if (m == nullptr) throw std::bad_alloc();
  std::unique_ptr<model, ModelDeleter> owned(m);
  m->param.solver_type = L2R_LR;
  m->nr_class = 2;
  m->nr_feature = nrFeature;
  m->bias = bias;
  m->label = static_cast<int*>(std::malloc(2 * sizeof(int)));
  m->w = static_cast<double*>(std::malloc(w.size() * sizeof(double)));
  if (m->label == nullptr || m->w == nullptr) throw std::bad_alloc();
  m->label[0] = labels[0];
  m->label[1] = labels[1];
  std::copy(w.begin(), w.end(), m->w);
  return owned;
}

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
  std::unique_ptr<model, ModelDeleter> m = loadModelFile(modelPath);
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
