#include <svm.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "common/error.h"
#include "models/model_kinds.h"

namespace fvc {
namespace {

void quiet(const char*) {}

// libsvm's probability fit shuffles with the C library's rand(): one global
// stream, so fits are serialised and each reseeds it to be reproducible.
std::mutex randMutex;

struct SvmRows {
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  explicit SvmRows(const Dataset& d) {
    const int width = d.cols + 1;
    nodes.resize(static_cast<size_t>(d.rows) * width);
    rows.resize(d.rows);
    for (int i = 0; i < d.rows; ++i) {
      svm_node* n = &nodes[static_cast<size_t>(i) * width];
      rows[i] = n;
      const double* x = d.row(i);
      for (int j = 0; j < d.cols; ++j) n[j] = svm_node{j + 1, x[j]};
      n[d.cols] = svm_node{-1, 0};
    }
  }
};

struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};

}  // namespace

FitResult fitSvm(const Dataset& d, const Params& params, const std::string& output) {
  svm_set_print_string_function(quiet);
  SvmRows rows(d);
  svm_problem prob{};
  prob.l = d.rows;
  prob.y = const_cast<double*>(d.y.data());
  prob.x = rows.rows.data();
  svm_parameter param{};
  param.svm_type = C_SVC;
  auto kernel = params.count("kernel") ? params.at("kernel") : std::string("rbf");
  if (kernel == "linear") param.kernel_type = LINEAR;
  else if (kernel == "rbf") param.kernel_type = RBF;
  else throw Error(code::kInvalidArgument, "params.kernel: '" + kernel + "' is not linear or rbf");
  param.C = paramNumber(params, "C", 1.0);
  auto gamma = params.count("gamma") ? params.at("gamma") : std::string("scale");
  if (gamma == "scale") {
    double sum = 0, sq = 0;
    for (double v : d.x) sum += v, sq += v * v;
    double n = static_cast<double>(d.x.size());
    double var = sq / n - (sum / n) * (sum / n);
    param.gamma = var > 0 ? 1.0 / (d.cols * var) : 1.0;
  } else {
    param.gamma = paramNumber(params, "gamma", 0);
  }
  param.cache_size = 200;
  param.eps = paramNumber(params, "tol", 1e-3);
  param.shrinking = 1;
  param.probability = 1;
  if (const char* err = svm_check_parameter(&prob, &param)) throw Error(code::kModel, std::string("libsvm: ") + err);
  std::lock_guard<std::mutex> lock(randMutex);
  std::srand(static_cast<unsigned>(paramNumber(params, "seed", 0)));
  std::unique_ptr<svm_model, ModelDeleter> m(svm_train(&prob, &param));
  if (!m) throw Error(code::kModel, "libsvm: training failed");
  saveAtomically(output, [&](const std::string& tmp) { return svm_save_model(tmp.c_str(), m.get()) == 0; });
  return {};
}

std::vector<double> predictSvm(const std::string& modelPath, const Dataset& d) {
  std::unique_ptr<svm_model, ModelDeleter> m(svm_load_model(modelPath.c_str()));
  if (!m) throw Error(code::kModel, modelPath + ": not a libsvm model file");
  if (!svm_check_probability_model(m.get())) throw Error(code::kModel, modelPath + ": model has no probability estimates");
  int labels[2] = {0, 0};
  svm_get_labels(m.get(), labels);
  int pos = labels[0] == 1 ? 0 : 1;
  SvmRows rows(d);
  std::vector<double> out(d.rows);
  double p[2];
  for (int i = 0; i < d.rows; ++i) {
    svm_predict_probability(m.get(), rows.rows[i], p);
    out[i] = p[pos];
  }
  return out;
}

}  // namespace fvc
