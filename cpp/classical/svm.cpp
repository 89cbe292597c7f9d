#include <svm.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>

#include "classical/model_kinds.h"
#include "classical/model_text.h"
#include "common/error.h"

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

// libsvm's svm_load_model reads past its buffers on some damaged files (a truncated
// last line, a support-vector count larger than the lines that follow; found by
// fuzz/): the text is checked line by line first, as fvc writes it for a binary
// C-SVC with probabilities. Numbers must parse completely and be finite.
void checkLibsvmText(const std::string& path) {
  const std::string text = readModelText(path, "libsvm");
  auto fail = [&](const std::string& why) -> void { throw Error(code::kInvalidData, path + ": damaged libsvm model (" + why + ")"); };
  const auto finite = finiteNumber;
  std::istringstream lines(text);
  std::string line;
  long totalSv = -1, nrSv = 0, svLines = 0;
  bool inSv = false;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string key, w;
    words >> key;
    if (inSv) {
      // "<coef> <index>:<value> ...": one coefficient (two classes), increasing indices.
      if (!finite(key)) fail("support vector " + std::to_string(svLines + 1) + " has no finite coefficient");
      long last = 0;
      while (words >> w) {
        const size_t colon = w.find(':');
        char* end = nullptr;
        const long index = colon == std::string::npos ? 0 : std::strtol(w.c_str(), &end, 10);
        if (colon == std::string::npos || end != w.c_str() + colon || index <= last || !finite(w.substr(colon + 1)))
          fail("support vector " + std::to_string(svLines + 1) + " has an invalid entry '" + w + "'");
        last = index;
      }
      ++svLines;
      continue;
    }
    if (key == "SV") inSv = true;
    else if (key == "total_sv") words >> totalSv;
    else if (key == "nr_sv") {
      long a = -1, b = -1;
      words >> a >> b;
      if (a < 0 || b < 0) fail("nr_sv needs two counts");
      nrSv = a + b;
    } else if (key == "nr_class") {
      words >> w;
      if (w != "2") fail("nr_class " + w + ", fvc writes binary models");
    } else if (key == "rho" || key == "probA" || key == "probB" || key == "gamma" || key == "coef0") {
      words >> w;
      if (!finite(w)) fail(key + " is not a finite number");
    } else if (key == "svm_type" || key == "kernel_type") {
      // What fvc writes; libsvm leaks its FILE when it meets another name.
      words >> w;
      if (key == "svm_type" ? w != "c_svc" : (w != "linear" && w != "rbf")) fail(key + " '" + w + "' is not one fvc writes");
    } else if (key != "degree" && key != "label") {
      fail("unknown header line '" + line.substr(0, 40) + "'");
    }
  }
  if (!inSv || totalSv <= 0 || totalSv != nrSv || totalSv != svLines)
    fail("total_sv " + std::to_string(totalSv) + ", nr_sv adding up to " + std::to_string(nrSv) + " and " + std::to_string(svLines) +
         " support-vector lines disagree");
}

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
  checkLibsvmText(modelPath);
  std::unique_ptr<svm_model, ModelDeleter> m(svm_load_model(modelPath.c_str()));
  if (!m) throw Error(code::kModel, modelPath + ": not a libsvm model file");
  // libsvm's reader trusts its header (class count, support-vector counts): a damaged
  // file loads and then reads out of bounds in predict. Check the structure first.
  const svm_model& sm = *m;
  const bool binary = sm.nr_class == 2 && sm.label != nullptr && sm.nSV != nullptr && sm.SV != nullptr && sm.sv_coef != nullptr &&
                      sm.rho != nullptr && ((sm.label[0] == 0 && sm.label[1] == 1) || (sm.label[0] == 1 && sm.label[1] == 0));
  if (!binary || sm.l <= 0 || sm.nSV[0] < 0 || sm.nSV[1] < 0 || sm.nSV[0] + sm.nSV[1] != sm.l)
    throw Error(code::kInvalidData, modelPath + ": damaged libsvm model (not a binary model with labels 0 and 1 whose support-vector counts add up)");
  bool finite =
      std::isfinite(sm.rho[0]) && (sm.probA == nullptr || std::isfinite(sm.probA[0])) && (sm.probB == nullptr || std::isfinite(sm.probB[0]));
  for (int i = 0; finite && i < sm.l; ++i) {
    finite = std::isfinite(sm.sv_coef[0][i]);
    for (const svm_node* n = sm.SV[i]; finite && n != nullptr && n->index != -1; ++n) finite = std::isfinite(n->value);
  }
  if (!finite) throw Error(code::kInvalidData, modelPath + ": damaged libsvm model (a non-finite coefficient or support vector)");
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
