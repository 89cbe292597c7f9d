#pragma once
// One data-parallel job's process group (see torch/distributed.h), as the trainer uses it.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "torch/distributed.h"

namespace fvc::deep::dist {

// One job's process group. Collectives throw ERR_DISTRIBUTED naming the rank that
// stopped answering, or the reason a rank gave when it ended the job (abort).
class Group {
 public:
  Group(int64_t job, const torch::Device& device);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const;
  int size() const;
  // Sums in place across ranks, in flattened buckets of about 25 MB (DDP's default).
  void allReduceSum(const std::vector<torch::Tensor>& tensors);
  // Rank 0's values, in place, everywhere.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  void barrier();
  // Ends the job for every rank at once: their collectives fail with this reason.
  void abort(const std::string& reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fvc::deep::dist
