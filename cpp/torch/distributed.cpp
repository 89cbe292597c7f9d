#include "torch/process_group.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "common/error.h"

#if defined(FVC_HAVE_C10D_GLOO) || defined(FVC_HAVE_C10D_NCCL)
#define FVC_HAVE_C10D 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef FVC_HAVE_C10D_GLOO
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef FVC_HAVE_C10D_NCCL
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace fvc::deep::dist {

std::vector<std::string> backends() {
  std::vector<std::string> out;
#ifdef FVC_HAVE_C10D_GLOO
  out.push_back("gloo");
#endif
#ifdef FVC_HAVE_C10D_NCCL
  out.push_back("nccl");
#endif
  return out;
}

#ifndef FVC_HAVE_C10D

namespace {
[[noreturn]] void unavailable() {
  throw Error(code::kDistributed,
              "this build of fvc has no torch.distributed process groups: install Gloo's headers (Debian libgloo-dev) or, for NCCL, a CUDA "
              "LibTorch with nccl.h, and rebuild (npm run build:native)");
}
}  // namespace

void init(const Settings&) { unavailable(); }
const Settings& settings() { unavailable(); }
int64_t publish(const std::string&) { unavailable(); }
std::optional<std::pair<int64_t, std::string>> next(const std::function<bool()>&) { unavailable(); }
void finish(double) {}
void abandon(int64_t, const std::string&) {}

struct Group::Impl {};
Group::Group(int64_t, const torch::Device&) { unavailable(); }
Group::~Group() = default;
int Group::rank() const { return 0; }
int Group::size() const { return 1; }
void Group::allReduceSum(const std::vector<torch::Tensor>&) { unavailable(); }
void Group::broadcast(const std::vector<torch::Tensor>&) { unavailable(); }
void Group::barrier() { unavailable(); }
void Group::abort(const std::string&) {}

#else

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Rendezvous {
  Settings settings;
  c10::intrusive_ptr<c10d::TCPStore> store;
  int64_t nextJob = 0;
};

std::mutex rvMutex;
std::unique_ptr<Rendezvous> rv;

milliseconds timeoutOf(const Settings& s) { return milliseconds(static_cast<int64_t>(s.timeoutSeconds * 1000)); }

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

Rendezvous& joined() {
  if (!rv) throw Error(code::kDistributed, "distributed: this process has not joined a rendezvous (no rank)");
  return *rv;
}

std::string where(const Settings& s) { return s.address + ":" + std::to_string(s.port); }

std::string rankList(const std::vector<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

}  // namespace

void init(const Settings& s) {
  if (s.worldSize < 1 || s.rank < 0 || s.rank >= s.worldSize)
    throw Error(code::kInvalidArgument, "rank: " + std::to_string(s.rank) + " is outside 0.." + std::to_string(s.worldSize - 1));
  if (s.port < 1 || s.port > 65535) throw Error(code::kInvalidArgument, "port: " + std::to_string(s.port) + " is not a TCP port");
  if (!(s.timeoutSeconds > 0)) throw Error(code::kInvalidArgument, "timeoutSeconds: must be > 0");
  std::lock_guard<std::mutex> lock(rvMutex);
  if (rv) throw Error(code::kInvalidArgument, "distributed: this process already joined a rendezvous as rank " + std::to_string(rv->settings.rank));
  auto r = std::make_unique<Rendezvous>();
  r->settings = s;
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(s.port);
  o.isServer = s.rank == 0;
  o.numWorkers = static_cast<std::size_t>(s.worldSize);
  o.waitWorkers = true;  // every rank's constructor returns once all have connected
  o.timeout = timeoutOf(s);
  try {
    r->store = c10::make_intrusive<c10d::TCPStore>(s.address, o);
  } catch (const std::exception& e) {
    throw Error(code::kDistributed, "rank " + std::to_string(s.rank) + " of " + std::to_string(s.worldSize) + ": the rendezvous at " + where(s) +
                                        " did not gather every rank within " + std::to_string(s.timeoutSeconds) + " s (" + e.what() + ")");
  }
  rv = std::move(r);
}

const Settings& settings() { return joined().settings; }

int64_t publish(const std::string& job) {
  Rendezvous& r = joined();
  if (r.settings.rank != 0) throw Error(code::kInvalidArgument, "distributed: only rank 0 hands out jobs");
  r.store->set("job/" + std::to_string(r.nextJob), bytes(job));
  return r.nextJob++;
}

std::optional<std::pair<int64_t, std::string>> next(const std::function<bool()>& cancelled) {
  Rendezvous& r = joined();
  const std::string key = "job/" + std::to_string(r.nextJob);
  for (;;) {
    if (cancelled()) throw Error(code::kAborted, "waiting for rank 0's next job was cancelled");
    bool ready = false;
    try {
      ready = r.store->check({key});
    } catch (const std::exception& e) {
      throw Error(code::kDistributed, "rank " + std::to_string(r.settings.rank) + ": rank 0, which serves the rendezvous at " + where(r.settings) +
                                          ", went away (" + e.what() + ")");
    }
    if (ready) {
      std::string job = text(r.store->get(key));
      if (job.empty()) {
        r.store->set("finished/" + std::to_string(r.settings.rank), bytes("1"));
        return std::nullopt;
      }
      return std::make_pair(r.nextJob++, std::move(job));
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

void finish(double waitSeconds) {
  std::lock_guard<std::mutex> lock(rvMutex);
  if (!rv || rv->settings.rank != 0) return;
  try {
    rv->store->set("job/" + std::to_string(rv->nextJob), {});
    // The store lives in this process: leaving before the others read the end would look to them like a crash.
    std::vector<std::string> keys;
    for (int k = 1; k < rv->settings.worldSize; ++k) keys.push_back("finished/" + std::to_string(k));
    if (!keys.empty() && waitSeconds > 0) rv->store->wait(keys, milliseconds(static_cast<int64_t>(waitSeconds * 1000)));
  } catch (const std::exception&) {
    // A rank that already died cannot acknowledge; its launcher reports it.
  }
}

void abandon(int64_t job, const std::string& reason) {
  Rendezvous& r = joined();
  try {
    auto store = c10::make_intrusive<c10d::PrefixStore>("job" + std::to_string(job), r.store);
    if (!store->check({"abort"})) store->set("abort", bytes("rank 0 ended the job before it began: " + reason));
  } catch (const std::exception&) {
    // Nobody left to tell.
  }
}

struct Group::Impl {
  int64_t job = 0;
  int rank = 0, size = 1;
  Settings settings;
  torch::Device device{torch::kCPU};
  c10::intrusive_ptr<c10d::Store> store;  // this job's keys
  bool broken = false;
#ifdef FVC_HAVE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef FVC_HAVE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  std::string who() const { return "rank " + std::to_string(rank) + " of " + std::to_string(size) + ", job " + std::to_string(job); }

  void release() {
#ifdef FVC_HAVE_C10D_GLOO
    gloo.reset();
#endif
#ifdef FVC_HAVE_C10D_NCCL
    nccl.reset();
#endif
  }

  // Which ranks are still there: every survivor marks itself once its collective
  // failed (after closing its connections, so the others fail at once too); the ones
  // that do not within a few seconds are named. A reason left with abort() wins.
  [[noreturn]] void failed(const std::string& what, const std::string& cause) {
    broken = true;
    release();
    std::string reason;
    try {
      store->set("alive/" + std::to_string(rank), bytes("1"));
      const auto deadline = Clock::now() + std::min(timeoutOf(settings), milliseconds(5000));
      std::vector<int> missing;
      for (;;) {
        if (store->check({"abort"})) throw Error(code::kDistributed, who() + ": " + text(store->get("abort")));
        missing.clear();
        for (int k = 0; k < size; ++k)
          if (k != rank && !store->check({"alive/" + std::to_string(k)})) missing.push_back(k);
        if (missing.empty() || Clock::now() >= deadline) break;
        std::this_thread::sleep_for(milliseconds(50));
      }
      reason = missing.empty() ? "every rank is still there (a collective ran past the timeout of " + std::to_string(settings.timeoutSeconds) + " s?)"
                               : std::string(missing.size() > 1 ? "ranks " : "rank ") + rankList(missing) +
                                     " stopped answering (killed, or failed: see that rank's log)";
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {
      reason = "rank 0, which serves the rendezvous at " + where(settings) + ", went away";
    }
    throw Error(code::kDistributed, who() + ": " + what + " failed: " + reason + " [" + cause + "]");
  }

  template <typename F>
  void collective(const std::string& what, F&& f) {
    if (broken) throw Error(code::kDistributed, who() + ": the job's process group ended after an earlier failure");
    try {
      f();
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      failed(what, e.what_without_backtrace());
    } catch (const std::exception& e) {
      failed(what, e.what());
    }
  }

  bool onNccl() const {
#ifdef FVC_HAVE_C10D_NCCL
    return static_cast<bool>(nccl);
#else
    return false;
#endif
  }

  // One flat tensor per call to the backend; Gloo gets CPU copies of CUDA tensors.
  void run(const std::string& what, torch::Tensor& flat, bool reduce) {
    collective(what, [&] {
      const bool stage = !onNccl() && !flat.device().is_cpu();
      std::vector<at::Tensor> v{stage ? flat.cpu() : flat};
#ifdef FVC_HAVE_C10D_NCCL
      if (nccl) {
        (reduce ? nccl->allreduce(v) : nccl->broadcast(v))->wait();
      }
#endif
#ifdef FVC_HAVE_C10D_GLOO
      if (gloo) {
        (reduce ? gloo->allreduce(v) : gloo->broadcast(v))->wait();
      }
#endif
      if (stage) flat.copy_(v[0]);
    });
  }

  // Tensors flattened in buckets of one dtype and device, about 25 MB each.
  void bucketed(const std::string& what, const std::vector<torch::Tensor>& tensors, bool reduce) {
    constexpr int64_t kBucketBytes = 25 << 20;
    std::vector<torch::Tensor> bucket;
    int64_t bytesIn = 0;
    auto flush = [&] {
      if (bucket.empty()) return;
      std::vector<torch::Tensor> flat;
      for (const auto& t : bucket) flat.push_back(t.reshape(-1));
      torch::Tensor all = torch::cat(flat);
      run(what, all, reduce);
      int64_t at = 0;
      for (auto& t : bucket) {
        t.view(-1).copy_(all.narrow(0, at, t.numel()));
        at += t.numel();
      }
      bucket.clear();
      bytesIn = 0;
    };
    for (const auto& t : tensors) {
      if (!t.defined() || t.numel() == 0) continue;
      if (!bucket.empty() && (bucket[0].scalar_type() != t.scalar_type() || bucket[0].device() != t.device() || bytesIn >= kBucketBytes)) flush();
      bucket.push_back(t);
      bytesIn += t.numel() * static_cast<int64_t>(t.element_size());
    }
    flush();
  }
};

Group::Group(int64_t job, const torch::Device& device) : impl_(std::make_unique<Impl>()) {
  Rendezvous& r = joined();
  Impl& g = *impl_;
  g.job = job;
  g.rank = r.settings.rank;
  g.size = r.settings.worldSize;
  g.settings = r.settings;
  g.device = device;
  g.store = c10::make_intrusive<c10d::PrefixStore>("job" + std::to_string(job), r.store);
  const auto timeout = timeoutOf(r.settings);
  try {
    g.store->set("joined/" + std::to_string(g.rank), bytes("1"));
    // Rank 0 joins first or abandons the job (abandon()): the others never wait out the timeout for a job it refused.
    for (const auto deadline = Clock::now() + timeout; g.rank != 0 && !g.store->check({"joined/0"});) {
      if (g.store->check({"abort"})) throw Error(code::kDistributed, g.who() + ": " + text(g.store->get("abort")));
      if (Clock::now() >= deadline) throw Error(code::kDistributed, g.who() + ": rank 0 did not join the job within the timeout");
      std::this_thread::sleep_for(milliseconds(50));
    }
#ifdef FVC_HAVE_C10D_NCCL
    // FVC_DIST_BACKEND=gloo keeps CUDA ranks on Gloo (through host copies): ranks that share one GPU, which NCCL refuses.
    const char* backend = std::getenv("FVC_DIST_BACKEND");
    if (device.is_cuda() && !(backend && std::string(backend) == "gloo")) {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      g.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, g.rank, g.size, o);
    }
#endif
#ifdef FVC_HAVE_C10D_GLOO
    if (!g.onNccl()) {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (r.settings.address == "127.0.0.1" || r.settings.address == "localhost")
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      g.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, g.rank, g.size, o);
    }
#endif
    if (!g.onNccl()
#ifdef FVC_HAVE_C10D_GLOO
        && !g.gloo
#endif
    )
      throw Error(code::kDistributed, "this build has no process group for " + device.str() + " (it has: NCCL needs CUDA tensors, and no Gloo)");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::vector<int> missing;
    try {
      for (int k = 0; k < g.size; ++k)
        if (!g.store->check({"joined/" + std::to_string(k)})) missing.push_back(k);
    } catch (const std::exception&) {
      throw Error(code::kDistributed, g.who() + ": rank 0, which serves the rendezvous at " + where(g.settings) + ", went away");
    }
    throw Error(code::kDistributed, g.who() + ": the process group did not form" +
                                        (missing.empty() ? std::string() : " (rank(s) " + rankList(missing) + " never joined the job)") + " [" +
                                        e.what() + "]");
  }
}

Group::~Group() {
  // A group that ends while its peers may still wait tells them why (the trainer
  // aborts with the reason first; this covers a stack unwinding past it).
  if (impl_ && !impl_->broken && std::uncaught_exceptions() > 0) abort("ended by an error");
  if (impl_) impl_->release();
}

int Group::rank() const { return impl_->rank; }
int Group::size() const { return impl_->size; }

void Group::allReduceSum(const std::vector<torch::Tensor>& tensors) { impl_->bucketed("all-reduce", tensors, true); }

void Group::broadcast(const std::vector<torch::Tensor>& tensors) { impl_->bucketed("broadcast", tensors, false); }

void Group::barrier() {
  torch::Tensor t = torch::zeros({1}, torch::TensorOptions().device(impl_->onNccl() ? impl_->device : torch::Device(torch::kCPU)));
  impl_->run("barrier", t, true);
}

void Group::abort(const std::string& reason) {
  Impl& g = *impl_;
  if (g.broken) return;
  g.broken = true;
  try {
    g.store->set("abort", bytes("rank " + std::to_string(g.rank) + " ended the job: " + reason));
  } catch (const std::exception&) {
    // The store is gone with rank 0; the others see that themselves.
  }
  g.release();
}

#endif

}  // namespace fvc::deep::dist
