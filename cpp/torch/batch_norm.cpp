#include "torch/batch_norm.h"

#include <cstdint>

#include "torch/process_group.h"

namespace fvc::deep {
namespace {

thread_local dist::Group* currentGroup = nullptr;

// A sum over the ranks whose gradient is the sum over the ranks of the gradients with
// respect to it: every rank's loss depends on every rank's batch through the statistics.
class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t group) {
    // The backward pass may run on an autograd device thread: the group travels with the node.
    ctx->saved_data["group"] = group;
    torch::Tensor y = x.clone(at::MemoryFormat::Contiguous);
    reinterpret_cast<dist::Group*>(group)->allReduceSum({y});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    torch::Tensor g = grads[0].clone(at::MemoryFormat::Contiguous);
    reinterpret_cast<dist::Group*>(ctx->saved_data["group"].toInt())->allReduceSum({g});
    return {g, torch::Tensor()};
  }
};

}  // namespace

SyncBatchNormScope::SyncBatchNormScope(dist::Group* group) : previous_(currentGroup) { currentGroup = group; }
SyncBatchNormScope::~SyncBatchNormScope() { currentGroup = previous_; }
dist::Group* syncBatchNormGroup() { return currentGroup; }

torch::Tensor syncBatchNorm(const torch::Tensor& input, torch::nn::BatchNormOptions options, const torch::Tensor& weight, const torch::Tensor& bias,
                            torch::Tensor& runningMean, torch::Tensor& runningVar, torch::Tensor& batchesTracked, dist::Group& group) {
  const int64_t channels = input.size(1);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  // Sums in float64: E[x^2] - E[x]^2 then loses nothing that matters in float32.
  torch::Tensor x = input.to(torch::kFloat64);
  torch::Tensor count = torch::full({1}, static_cast<double>(input.numel() / channels), x.options());
  torch::Tensor sums = AllReduceSum::apply(torch::cat({x.sum(dims), (x * x).sum(dims), count}), reinterpret_cast<int64_t>(&group));
  torch::Tensor n = sums.narrow(0, 2 * channels, 1);
  torch::Tensor mean = sums.narrow(0, 0, channels) / n;
  torch::Tensor var = sums.narrow(0, channels, channels) / n - mean * mean;
  if (options.track_running_stats() && runningMean.defined()) {
    torch::NoGradGuard noGrad;
    batchesTracked.add_(1);
    // No momentum: a cumulative average, as LibTorch's batch norm keeps it then.
    const double m = options.momentum().has_value() ? *options.momentum() : 1.0 / batchesTracked.item<double>();
    const double total = n.item<double>();
    runningMean.mul_(1 - m).add_(mean.to(runningMean.scalar_type()), m);
    runningVar.mul_(1 - m).add_((var * (total / std::max(1.0, total - 1))).to(runningVar.scalar_type()), m);
  }
  std::vector<int64_t> shape(input.dim(), 1);
  shape[1] = channels;
  torch::Tensor y =
      (input.to(torch::kFloat32) - mean.to(torch::kFloat32).view(shape)) * torch::rsqrt(var.to(torch::kFloat32).view(shape) + options.eps());
  if (options.affine()) y = y * weight.view(shape) + bias.view(shape);
  return y.to(input.scalar_type());
}

}  // namespace fvc::deep
