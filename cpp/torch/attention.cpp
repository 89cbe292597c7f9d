#include "torch/attention.h"

#include <torch/version.h>

#include <cmath>

#include "torch/autocast.h"
#include "torch/run_scope.h"

namespace fvc::deep {

torch::Tensor scaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#else
  torch::Tensor scores = torch::matmul(q / std::sqrt(static_cast<double>(q.size(-1))), k.transpose(-2, -1));
  return torch::matmul(scores.softmax(-1), v);
#endif
}

torch::Tensor selfAttention(const torch::Tensor& x, const torch::Tensor& qkvWeight, const torch::Tensor& qkvBias, int64_t heads,
                            torch::nn::Linear& proj) {
  const int64_t n = x.size(0), l = x.size(1), d = x.size(2);
  torch::Tensor qkv = torch::nn::functional::linear(x, qkvWeight, qkvBias).view({n, l, 3, heads, d / heads}).permute({2, 0, 3, 1, 4});
  torch::Tensor y = scaledDotProductAttention(qkv[0], qkv[1], qkv[2]);
  return proj->forward(y.transpose(1, 2).reshape({n, l, d}));
}

namespace {

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, Checkpointable* block) {
    ctx->save_for_backward({x});
    ctx->saved_data["block"] = reinterpret_cast<int64_t>(block);
    ctx->saved_data["autocast"] = x.is_cuda() && torchrt::cudaAutocastEnabled();
    return block->run(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto* block = reinterpret_cast<Checkpointable*>(ctx->saved_data["block"].toInt());
    torch::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor y;
    {
      torch::AutoGradMode enable(true);
      Autocast autocast(ctx->saved_data["autocast"].toBool());
      y = block->run(x);
    }
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor checkpointed(Checkpointable& block, const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled()) return block.run(x);
  return CheckpointFunction::apply(x, &block);
}

}  // namespace fvc::deep
