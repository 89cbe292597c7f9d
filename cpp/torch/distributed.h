#pragma once
// Data-parallel training over torch.distributed's c10d: one rendezvous per process
// (rank 0 hosts a TCPStore, the other ranks connect, as torchrun and Lightning do),
// jobs handed from rank 0 to the others through that store, and one process group per
// job (Gloo on CPUs, NCCL between GPUs) under the job's own key prefix, so a job that
// fails leaves the next one a clean group (torch/process_group.h, for the trainer).
// Plain C++ here, so the JS-facing API compiles without LibTorch's headers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fvc::deep::dist {

struct Settings {
  int rank = 0, worldSize = 1, localRank = 0;
  std::string address = "127.0.0.1";  // rank 0's host: it serves the store
  int port = 29500;
  double timeoutSeconds = 1800;  // every rendezvous and collective; PyTorch's default
};

// The process group kinds this build has ("gloo", "nccl"); empty: none (no c10d headers).
std::vector<std::string> backends();

// Joins the rendezvous; once per process. Rank 0 waits for every other rank to connect.
void init(const Settings& s);
const Settings& settings();

// Rank 0: hands a job (a fold's training request, as text) to every other rank; returns its number.
int64_t publish(const std::string& job);
// Other ranks: the next job, or nothing once rank 0 has finished. Waits as long as rank 0
// lives (it may train other models in between); throws when rank 0 goes away.
std::optional<std::pair<int64_t, std::string>> next(const std::function<bool()>& cancelled);
// Rank 0: no more jobs; waits up to waitSeconds until every rank has seen that.
void finish(double waitSeconds);
// Rank 0: job `job` ended here before or without its process group (refused, cancelled):
// the other ranks, waiting to form it, end it with this reason instead of timing out.
void abandon(int64_t job, const std::string& reason);

}  // namespace fvc::deep::dist
