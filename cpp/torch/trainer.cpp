// The deep-model trainer, after the seed's methodology: AdamW (0.9, 0.999, weight
// decay 1e-4), cosine annealing after a linear warmup, a smaller learning rate for
// a pretrained backbone than for the new head, gradient clipping, gradient
// accumulation when the per-pass batch is smaller than the optimiser's, class
// weights, early stopping on validation AUC with the best checkpoint kept, and a
// resumable checkpoint after every epoch. In a data-parallel job every rank runs this
// on its shard of each epoch (torch/distributed.h): gradients are summed once per
// optimiser step, validation is gathered, and rank 0 alone writes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>

#include "common/error.h"
#include "torch/autocast.h"
#include "torch/batch_norm.h"
#include "torch/clip_loader.h"
#include "torch/deep.h"
#include "torch/process_group.h"
#include "torch/run_scope.h"
#include "torch/tensor_io.h"
#include "torch/torch_guard.h"
#include "torch/video_model.h"

namespace fvc::deep {
namespace {

namespace fs = std::filesystem;

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// ROC-AUC by the Mann-Whitney statistic (ties count half); NaN without both classes.
double rocAuc(const std::vector<float>& p, const std::vector<int>& y) {
  // NaN orders with nothing: it would break the sort and the tie scan below.
  for (float v : p)
    if (std::isnan(v)) return std::nan("");
  std::vector<size_t> idx(p.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  double rankSum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i + 1;
    while (j < idx.size() && p[idx[j]] == p[idx[i]]) ++j;
    const double rank = (i + j + 1) / 2.0;  // 1-based average rank
    for (size_t k = i; k < j; ++k)
      if (y[idx[k]] == 1) rankSum += rank, ++pos;
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(p.size()) - pos;
  if (pos == 0 || neg == 0) return std::nan("");
  return (rankSum - pos * (pos + 1) / 2.0) / (static_cast<double>(pos) * neg);
}

void saveModel(VideoModel& model, const std::string& path) {
  torch::serialize::OutputArchive a;
  model.save(a);
  const std::string tmp = path + ".tmp";
  a.save_to(tmp);
  fs::rename(tmp, path);
}

struct Evaluation {
  double loss = 0, auc = 0, acc = 0;
  std::vector<float> probs;
};

// Every rank scores its shard; per-clip sums (a padded shard repeats clips, counted
// once each) are gathered so that every rank holds the whole validation set's numbers.
Evaluation evaluate(VideoModel& model, ClipLoader& loader, const std::vector<Clip>& clips, const torch::Device& device, bool mixed,
                    const std::function<bool()>& cancelled, dist::Group* group = nullptr) {
  model.eval();
  torch::NoGradGuard noGrad;
  Autocast autocast(mixed);
  const int64_t n = static_cast<int64_t>(clips.size());
  torch::Tensor sums = torch::zeros({4, n}, torch::kFloat64);  // probability, loss, correct, times seen
  auto acc = sums.accessor<double, 2>();
  loader.startEpoch(0);
  while (auto b = loader.next(nullptr)) {
    if (cancelled()) throw Error(code::kAborted, "training was cancelled");
    torch::Tensor logits = model.forward(b->clips.to(device)).to(torch::kCPU).to(torch::kFloat32);
    torch::Tensor loss =
        torch::nn::functional::cross_entropy(logits, b->labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
            .contiguous();
    torch::Tensor p = torch::softmax(logits, 1).select(1, logits.size(1) > 1 ? 1 : 0).contiguous();
    torch::Tensor correct = (logits.argmax(1) == b->labels).contiguous();
    for (size_t k = 0; k < b->indices.size(); ++k) {
      const int64_t i = b->indices[k], kk = static_cast<int64_t>(k);
      acc[0][i] += p[kk].item<float>();
      acc[1][i] += loss[kk].item<float>();
      acc[2][i] += correct[kk].item<bool>() ? 1 : 0;
      acc[3][i] += 1;
    }
  }
  if (group) group->allReduceSum({sums});
  Evaluation e;
  e.probs.resize(n);
  double lossSum = 0, correctSum = 0;
  std::vector<int> y;
  for (int64_t i = 0; i < n; ++i) {
    const double seen = std::max(1.0, acc[3][i]);
    e.probs[i] = static_cast<float>(acc[0][i] / seen);
    lossSum += acc[1][i] / seen;
    correctSum += acc[2][i] / seen;
    y.push_back(clips[i].label);
  }
  e.loss = lossSum / n;
  e.acc = correctSum / n;
  e.auc = rocAuc(e.probs, y);
  return e;
}

std::string historyText(const std::vector<EpochStats>& h) {
  std::ostringstream s;
  s.precision(17);
  for (const auto& e : h)
    s << e.epoch << ' ' << e.trainLoss << ' ' << e.valLoss << ' ' << e.valAuc << ' ' << e.valAcc << ' ' << e.lr << ' ' << e.seconds << ' '
      << e.dataWait << ' ' << e.best << '\n';
  return s.str();
}

// Read back token by token with stod, which (unlike operator>>) takes the "nan" an AUC without both classes writes.
std::vector<EpochStats> parseHistory(const std::string& text) {
  std::vector<EpochStats> h;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream s(line);
    std::vector<std::string> t;
    for (std::string tok; s >> tok;) t.push_back(tok);
    if (t.size() != 9) continue;
    EpochStats e;
    e.epoch = std::stoi(t[0]);
    double* fields[] = {&e.trainLoss, &e.valLoss, &e.valAuc, &e.valAcc, &e.lr, &e.seconds, &e.dataWait};
    for (int i = 0; i < 7; ++i) *fields[i] = std::stod(t[i + 1]);
    e.best = t[8] == "1";
    h.push_back(e);
  }
  return h;
}

}  // namespace

void loadCheckpoint(VideoModel& model, const std::string& path) {
  if (!fs::exists(path)) throw Error(code::kFileNotFound, path + ": no such checkpoint");
  torch::serialize::InputArchive a;
  try {
    a.load_from(path);
    model.load(a);
  } catch (const c10::Error& e) {
    throw Error(code::kInvalidData, path + ": not a checkpoint of this model (" + e.what_without_backtrace() + ")");
  }
}

namespace {

TrainResult trainOn(const TrainRequest& r, const torch::Device& device, dist::Group* group, const std::function<void(const EpochStats&)>& onEpoch,
                    const std::function<bool()>& cancelled, const std::function<void(const BatchStats&)>& onBatch) {
  const int world = group ? group->size() : 1;
  const bool writer = !group || group->rank() == 0;  // checkpoints and every file: rank 0 only
  if (r.train.empty() || r.val.empty()) throw Error(code::kInvalidArgument, "train/val: both need clips");
  if (r.epochs < 1) throw Error(code::kInvalidArgument, "epochs: must be >= 1");
  if (r.batchSize < 1) throw Error(code::kInvalidArgument, "batchSize: must be >= 1");
  if (r.batchSize % world != 0)
    throw Error(code::kInvalidArgument,
                "batchSize: " + std::to_string(r.batchSize) + " clips per step do not split evenly over " + std::to_string(world) + " ranks");
  const int local = r.batchSize / world;  // this rank's clips per optimiser step
  const int micro = r.microBatch > 0 ? std::min(r.microBatch, local) : local;
  const bool mixed = r.mixedPrecision && device.is_cuda();
  fs::create_directories(r.outDir);
  const std::string best = (fs::path(r.outDir) / "model.pt").string(), last = (fs::path(r.outDir) / "last.pt").string();

  const ModelSpec& spec = findModel(r.model);
  torch::manual_seed(r.seed);
  auto model = spec.build(r.numClasses, r.scale);
  const bool pretrained = !r.weights.empty();
  if (pretrained) loadStateDict(*model, loadWeights(r.weights), r.weights);
  model->to(device);
  TrainResult out;
  for (const auto& p : model->parameters()) out.parameters += p.numel();

  if (r.gradientCheckpointing && !model->setGradientCheckpointing(true))
    throw Error(code::kInvalidArgument, "gradientCheckpointing: " + r.model + " has no checkpointed blocks (the transformers have)");
  if (!(r.layerDecay > 0 && r.layerDecay <= 1)) throw Error(code::kInvalidArgument, "layerDecay: must be in (0, 1]");
  if (r.layerDecay < 1 && model->numLayers() == 0)
    throw Error(code::kInvalidArgument, "layerDecay: " + r.model + " has no layers to decay the learning rate over (the transformers have)");

  // One parameter group per learning rate and weight decay: the head learns at lrHead,
  // a pretrained backbone at lrBackbone (a new one at lrHead too); with layer-wise decay
  // a layer d below the top takes layerDecay^d of that; the model says which
  // parameters take no weight decay (a transformer's norms, biases, embeddings, tokens).
  std::vector<double> lrs;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  {
    std::map<std::pair<double, bool>, std::vector<torch::Tensor>> byGroup;
    std::map<std::pair<double, bool>, std::vector<std::string>> names;
    const int64_t top = model->numLayers();
    for (auto& p : model->named_parameters()) {
      bool isHead = false;
      for (const auto& prefix : model->headPrefixes()) isHead = isHead || p.key().rfind(prefix, 0) == 0;
      double lr = isHead || !pretrained ? r.lrHead : r.lrBackbone;
      const int64_t depth = model->layerDepth(p.key());
      if (r.layerDecay < 1 && depth >= 0) lr *= std::pow(r.layerDecay, static_cast<double>(top - std::min(depth, top)));
      const std::pair<double, bool> key{lr, model->decays(p.key(), p.value())};
      byGroup[key].push_back(p.value());
      names[key].push_back(p.key());
    }
    for (auto& [key, params] : byGroup) {
      lrs.push_back(key.first);
      out.groups.push_back({key.first, key.second ? r.weightDecay : 0.0, names[key]});
      auto o = std::make_unique<torch::optim::AdamWOptions>(key.first);
      o->betas({0.9, 0.999}).weight_decay(key.second ? r.weightDecay : 0.0);
      groups.emplace_back(params, std::move(o));
    }
  }
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(r.lrHead).betas({0.9, 0.999}).weight_decay(r.weightDecay));

  // Class weights n / (K * n_c), so a rare class counts as much as a common one.
  std::vector<double> counts(r.numClasses, 0);
  for (const auto& c : r.train) {
    if (c.label < 0 || c.label >= r.numClasses)
      throw Error(code::kInvalidData, c.npy + ": label " + std::to_string(c.label) + " outside 0.." + std::to_string(r.numClasses - 1));
    counts[c.label] += 1;
  }
  std::vector<float> w(r.numClasses, 1.f);
  if (r.classWeights)
    for (int64_t k = 0; k < r.numClasses; ++k) w[k] = counts[k] > 0 ? static_cast<float>(r.train.size() / (r.numClasses * counts[k])) : 0.f;
  torch::Tensor classWeights = torch::tensor(w).to(device);

  const ClipInput input = inputFor(spec, r.input);
  ClipLoader trainLoader(r.train, input, micro, true, r.seed, r.loaderThreads);
  ClipLoader valLoader(r.val, input, local, false, r.seed, r.loaderThreads);
  if (group) {
    trainLoader.shard(group->rank(), world);
    valLoader.shard(group->rank(), world);
  }
  const int64_t microPerEpoch = trainLoader.batchesPerEpoch();
  const int64_t accumulate = (local + micro - 1) / micro;
  const int64_t stepsPerEpoch = (microPerEpoch + accumulate - 1) / accumulate;
  const int64_t totalSteps = stepsPerEpoch * r.epochs, warmupSteps = stepsPerEpoch * std::min(r.warmupEpochs, r.epochs);
  auto lrFactor = [&](int64_t step) {
    if (step < warmupSteps) return (step + 1.0) / warmupSteps;
    const double progress = totalSteps > warmupSteps ? (step - warmupSteps) / static_cast<double>(totalSteps - warmupSteps) : 1.0;
    return 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  };

  int startEpoch = 1, bestEpoch = 0, sinceBest = 0;
  double bestScore = -INFINITY;
  std::vector<EpochStats> history;
  if (r.resume && fs::exists(last)) {
    torch::serialize::InputArchive a;
    a.load_from(last, device);
    model->load(a);
    torch::serialize::InputArchive opt;
    a.read("optimizer", opt);
    optimizer.load(opt);
    c10::IValue v;
    a.read("epoch", v);
    startEpoch = static_cast<int>(v.toInt()) + 1;
    a.read("best_epoch", v);
    bestEpoch = static_cast<int>(v.toInt());
    a.read("best_score", v);
    bestScore = v.toDouble();
    a.read("since_best", v);
    sinceBest = static_cast<int>(v.toInt());
    a.read("history", v);
    history = parseHistory(v.toStringRef());
    out.resumedFrom = startEpoch - 1;
  }
  // Every rank starts from rank 0's weights and buffers (DDP's broadcast at construction).
  auto state = [&](bool parameters) {
    std::vector<torch::Tensor> t;
    if (parameters)
      for (const auto& p : model->parameters()) t.push_back(p.detach());
    for (const auto& b : model->buffers()) t.push_back(b.detach());
    return t;
  };
  if (group) group->broadcast(state(true));

  int64_t step = (startEpoch - 1) * stepsPerEpoch;
  for (int epoch = startEpoch; epoch <= r.epochs && sinceBest < r.patience; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    model->train();
    trainLoader.startEpoch(epoch);
    // Each optimiser step's loss is its clips' weighted sum over their total weight, over
    // every rank's clips, as one pass over the whole step would take it: micro-batches and
    // ranks then add up to exactly that. Every rank knows the epoch's order, so no messages.
    const int64_t perStep = accumulate * micro;
    std::vector<double> stepWeight(static_cast<size_t>(std::max<int64_t>(1, stepsPerEpoch)), 0.0);
    {
      const auto& order = trainLoader.epochOrder();
      for (size_t pos = 0; pos < order.size(); ++pos) stepWeight[static_cast<size_t>((pos / world) / perStep)] += w[r.train[order[pos]].label];
    }
    double waited = 0, lossSum = 0, weightSum = 0, reportedAt = -1;
    int64_t seen = 0, inStep = 0, batch = 0;
    optimizer.zero_grad();
    auto applyStep = [&] {
      if (group) {  // once per step, not per micro-batch
        std::vector<torch::Tensor> grads;
        for (const auto& p : model->parameters())
          if (p.grad().defined()) grads.push_back(p.grad());
        group->allReduceSum(grads);
      }
      torch::nn::utils::clip_grad_norm_(model->parameters(), r.maxGradNorm);
      const double f = lrFactor(step);
      for (size_t g = 0; g < optimizer.param_groups().size(); ++g) optimizer.param_groups()[g].options().set_lr(lrs[g] * f);
      optimizer.step();
      model->afterOptimizerStep();
      optimizer.zero_grad();
      ++step;
      inStep = 0;
    };
    while (auto b = trainLoader.next(&waited)) {
      if (cancelled()) throw Error(code::kAborted, "training was cancelled");
      torch::Tensor x = b->clips.to(device), y = b->labels.to(device);
      torch::Tensor logits;
      {
        Autocast autocast(mixed);
        SyncBatchNormScope syncNorms(r.syncBatchNorm ? group : nullptr);
        logits = model->forward(x);
      }
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.to(torch::kFloat32), y,
          torch::nn::functional::CrossEntropyFuncOptions().weight(classWeights).label_smoothing(r.labelSmoothing).reduction(torch::kSum));
      (loss / stepWeight[static_cast<size_t>(batch / accumulate)]).backward();
      lossSum += loss.item<double>();
      weightSum += classWeights.index_select(0, y).sum().item<double>();
      seen += x.size(0);
      if (++inStep == accumulate) applyStep();
      ++batch;
      if (onBatch) {
        const double now = seconds(t0);
        if (now - reportedAt >= 0.5 || batch == microPerEpoch) {
          reportedAt = now;
          onBatch({epoch, batch, microPerEpoch, seen, now, waited});
        }
      }
    }
    if (inStep > 0) applyStep();
    const double trainSeconds = seconds(t0);
    if (group) {
      torch::Tensor sums = torch::tensor({lossSum, weightSum}, torch::kFloat64);
      group->allReduceSum({sums});
      lossSum = sums[0].item<double>();
      weightSum = sums[1].item<double>();
      group->broadcast(state(false));  // per-rank batch-norm statistics: rank 0's are the checkpoint's
    }
    Evaluation ev = evaluate(*model, valLoader, r.val, device, mixed, cancelled, group);
    EpochStats s;
    s.epoch = epoch;
    s.trainLoss = weightSum > 0 ? lossSum / weightSum : 0;
    // A diverged model's scores are no ranking at all: refused rather than kept as a fold's predictions.
    const bool badScores = std::any_of(ev.probs.begin(), ev.probs.end(), [](float v) { return !std::isfinite(v); });
    if (!std::isfinite(s.trainLoss) || badScores) {
      std::ostringstream loss;
      loss << std::setprecision(4) << s.trainLoss;
      throw Error(code::kTorch, "epoch " + std::to_string(epoch) + ": training diverged (train loss " + loss.str() +
                                    (badScores ? ", non-finite validation scores" : "") +
                                    "); a lower learning rate (lrHead), weight decay or maxGradNorm may help");
    }
    s.valLoss = ev.loss;
    s.valAuc = ev.auc;
    s.valAcc = ev.acc;
    s.lr = optimizer.param_groups().back().options().get_lr();
    s.dataWait = trainSeconds > 0 ? waited / trainSeconds : 0;
    s.trainSeconds = trainSeconds;
    // AUC decides; without both classes in validation, the lower loss does.
    double score = std::isnan(ev.auc) ? -ev.loss : ev.auc;
    if (group) {  // taken once, by rank 0, whatever rounding the gathered numbers saw elsewhere
      torch::Tensor d = torch::tensor({score}, torch::kFloat64);
      group->broadcast({d});
      score = d.item<double>();
    }
    if (score > bestScore) {
      bestScore = score;
      bestEpoch = epoch;
      sinceBest = 0;
      s.best = true;
      if (writer) saveModel(*model, best);
    } else {
      ++sinceBest;
    }
    s.seconds = seconds(t0);
    history.push_back(s);
    if (writer) {
      torch::serialize::OutputArchive a;
      model->save(a);
      torch::serialize::OutputArchive opt;
      optimizer.save(opt);
      a.write("optimizer", opt);
      a.write("epoch", c10::IValue(static_cast<int64_t>(epoch)));
      a.write("best_epoch", c10::IValue(static_cast<int64_t>(bestEpoch)));
      a.write("best_score", c10::IValue(bestScore));
      a.write("since_best", c10::IValue(static_cast<int64_t>(sinceBest)));
      a.write("history", c10::IValue(historyText(history)));
      a.save_to(last + ".tmp");
      fs::rename(last + ".tmp", last);
    }
    onEpoch(s);
  }
  out.epochs = history;
  out.bestEpoch = bestEpoch;
  out.stoppedEarly = sinceBest >= r.patience && (history.empty() || history.back().epoch < r.epochs);
  if (group) group->barrier();  // rank 0 has written model.pt
  loadCheckpoint(*model, best);
  model->to(device);
  out.valProbs = evaluate(*model, valLoader, r.val, device, mixed, cancelled, group).probs;
  return out;
}

}  // namespace

TrainResult train(const TrainRequest& r, const std::function<void(const EpochStats&)>& onEpoch, const std::function<bool()>& cancelled,
                  const std::function<void(const BatchStats&)>& onBatch) {
  return torchGuard([&] {
    CpuCacheScope cache;
    torch::Device device(r.device);  // "cpu", "cuda" or "cuda:N"
    // The job's group forms first: a rank that refused the request before joining
    // would leave the others waiting for it until the timeout.
    std::unique_ptr<dist::Group> group;
    if (r.distributedJob >= 0) {
      // Local rank i takes GPU i; where srun gave each task one visible GPU, that GPU.
      if (device.is_cuda() && !device.has_index())
        device = torch::Device(torch::kCUDA,
                               static_cast<c10::DeviceIndex>(dist::settings().localRank % std::max<int64_t>(1, torch::cuda::device_count())));
      group = std::make_unique<dist::Group>(r.distributedJob, device);
    }
    try {
      return trainOn(r, device, group.get(), onEpoch, cancelled, onBatch);
    } catch (const std::exception& e) {
      if (group) group->abort(e.what());
      throw;
    }
  });
}

std::vector<float> predict(const PredictRequest& r) {
  return torchGuard([&] {
    CpuCacheScope cache;
    const torch::Device device(r.device);  // "cpu", "cuda" or "cuda:N"
    const ModelSpec& spec = findModel(r.model);
    auto model = spec.build(r.numClasses, r.scale);
    loadCheckpoint(*model, r.checkpoint);
    model->to(device);
    const ClipInput input = inputFor(spec, r.input);
    ClipLoader loader(r.clips, input, r.batchSize, false, 0, 2);
    return evaluate(*model, loader, r.clips, device, r.mixedPrecision && device.is_cuda(), [] { return false; }).probs;
  });
}

}  // namespace fvc::deep
