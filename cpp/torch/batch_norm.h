#pragma once
// The batch norms fvc's architectures are built from: LibTorch's, with the same
// parameters, buffers and checkpoints, except that in a data-parallel job with
// synchronised batch norm (deep.syncBatchNorm) a training pass normalises with the
// statistics of the whole batch over every rank, as PyTorch's SyncBatchNorm does.
#include <torch/torch.h>

namespace fvc::deep {

namespace dist {
class Group;
}

// While alive, training passes on this thread synchronise their batch norms over `group`
// (null: each rank's own batch, as DDP's default).
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(dist::Group* group);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  dist::Group* previous_;
};

dist::Group* syncBatchNormGroup();

// Batch norm in training mode with the batch statistics summed over the group's ranks
// (the sums' gradients too, so the backward pass is the whole batch's); updates the
// running statistics as one pass over the whole batch would.
torch::Tensor syncBatchNorm(const torch::Tensor& input, torch::nn::BatchNormOptions options, const torch::Tensor& weight, const torch::Tensor& bias,
                            torch::Tensor& runningMean, torch::Tensor& runningVar, torch::Tensor& batchesTracked, dist::Group& group);

// LibTorch's BatchNorm{2,3}d re-stated (same parameters, buffers, initialisation and
// forward; checkpoints name them alike) rather than subclassed: a subclass needs symbols
// Debian's LibTorch does not export.
template <size_t D>
class BatchNormImpl : public torch::nn::Cloneable<BatchNormImpl<D>> {
 public:
  explicit BatchNormImpl(int64_t features) : BatchNormImpl(torch::nn::BatchNormOptions(features)) {}
  explicit BatchNormImpl(const torch::nn::BatchNormOptions& o) : options(o) { reset(); }

  void reset() override {
    const int64_t c = options.num_features();
    weight = this->register_parameter("weight", options.affine() ? torch::ones({c}) : torch::Tensor(), options.affine());
    bias = this->register_parameter("bias", options.affine() ? torch::zeros({c}) : torch::Tensor(), options.affine());
    if (options.track_running_stats()) {
      running_mean = this->register_buffer("running_mean", torch::zeros({c}));
      running_var = this->register_buffer("running_var", torch::ones({c}));
      num_batches_tracked = this->register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
    }
  }

  torch::Tensor forward(const torch::Tensor& input) {
    TORCH_CHECK(input.dim() == static_cast<int64_t>(D) + 2, "BatchNorm", D, "d: expected ", D + 2, "D input (got ", input.dim(), "D input)");
    dist::Group* group = syncBatchNormGroup();
    if (group && this->is_training()) return syncBatchNorm(input, options, weight, bias, running_mean, running_var, num_batches_tracked, *group);
    double factor = options.momentum().value_or(0.0);
    if (this->is_training() && options.track_running_stats()) {
      num_batches_tracked += 1;
      if (!options.momentum()) factor = 1.0 / num_batches_tracked.template item<double>();
    }
    return torch::batch_norm(input, weight, bias, running_mean, running_var, this->is_training() || !options.track_running_stats(), factor,
                             options.eps(), at::globalContext().userEnabledCuDNN());
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "BatchNorm" << D << "d(" << options.num_features() << ", eps=" << options.eps() << ", affine=" << options.affine() << ")";
  }

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};

class BatchNorm2dImpl : public BatchNormImpl<2> {
 public:
  using BatchNormImpl<2>::BatchNormImpl;
};
class BatchNorm3dImpl : public BatchNormImpl<3> {
 public:
  using BatchNormImpl<3>::BatchNormImpl;
};
TORCH_MODULE(BatchNorm2d);
TORCH_MODULE(BatchNorm3d);

}  // namespace fvc::deep
