// fvc-native-check: the native readers of users' files without Node or LibTorch, for
// the sanitizer build (cmake -DFVC_SANITIZE=ON) and the fuzz harness (fuzz/README.md).
//
//   fvc-native-check read <kind> FILE...       run the reader on each file
//   fvc-native-check fuzz <kind> DIR [--iterations N] [--seconds S] [--seed S] [--work DIR]
//                                             mutate the files of DIR and run the reader
//   fvc-native-check seed DIR                  write the model and array seeds of the corpus
//
// kind: video (open, probe, exact probe, sample, features), safetensors, npy, pth,
// xgboost, liblinear, libsvm. A reader may refuse its input with fvc::Error (that is
// the expected outcome for damaged input); any other exception, a crash, or a
// sanitizer report is a finding. In fuzz mode the input being run is always at
// <work>/current, so a run the sanitizer aborts leaves the culprit behind.
#include <dirent.h>
#include <sys/stat.h>

extern "C" {
#include <libavutil/log.h>
}

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "classical/model_kinds.h"
#include "common/error.h"
#include "common/stop_condition.h"
#include "features/handcrafted.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "io/torch_save.h"
#include "io/zip_archive.h"
#include "video/av_util.h"
#include "video/frame_sampler.h"
#include "video/probe.h"
#include "video/video_input.h"

namespace {

using fvc::Error;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fvc::code::kFileNotFound, path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

// Each reader returns a one-line summary of what it read.
std::string readVideo(const std::string& path) {
  // Bounded like `fvc frames --timeout`: a mutated header must not make one input run for ever.
  fvc::StopCondition stop(std::make_shared<std::atomic<bool>>(false), 10000);
  std::string summary;
  {
    fvc::VideoInput input(path, stop, fvc::DecoderOptions{1});
    fvc::ProbeResult p = fvc::probeVideo(input, fvc::ProbeOptions{true});
    summary = p.codec + " " + std::to_string(p.width) + "x" + std::to_string(p.height) + " frames " + std::to_string(p.frameCount);
  }
  fvc::VideoInput input(path, stop, fvc::DecoderOptions{2});
  fvc::ProbeResult probe = fvc::probeVideo(input, fvc::ProbeOptions{});
  fvc::SampleOptions sample;
  sample.count = 4;
  sample.resize.size = 0;  // native size, as Stage 2 reads it
  sample.resize.letterbox = false;
  sample.adjacent = true;
  fvc::SampledFrames frames = fvc::sampleFrames(input, sample);
  fvc::FeatureVector f = fvc::computeHandcraftedFeatures(frames.data.data(), frames.count / 2, frames.width, frames.height, probe);
  int missing = 0;
  for (const auto& v : f.values) missing += v ? 0 : 1;
  return summary + ", sampled " + std::to_string(frames.count) + " (" + std::to_string(frames.damagedFrames) + " damaged), features " +
         std::to_string(f.values.size()) + " (" + std::to_string(missing) + " missing)";
}

std::string readSafetensors(const std::string& path) {
  const std::string bytes = readFile(path);
  fvc::SafetensorsLayout layout = fvc::parseSafetensorsLayout(path, bytes);
  // Touch every byte the layout hands out, so a range past the buffer is a sanitizer report.
  unsigned sum = 0;
  for (const auto& t : layout.tensors)
    for (size_t i = t.begin; i < t.end; ++i) sum += static_cast<unsigned char>(bytes[layout.dataStart + i]);
  return std::to_string(layout.tensors.size()) + " tensors, checksum " + std::to_string(sum);
}

// Every tensor's first and last element are read from its storage, so that a view the
// layout let through outside its storage is an AddressSanitizer report.
std::string readPth(const std::string& path) {
  const std::string bytes = readFile(path);
  const fvc::TorchSaveLayout layout = fvc::parseTorchSaveLayout(path, bytes);
  unsigned sum = 0;
  size_t tensors = 0;
  for (const auto& [prefix, dict] : layout.dicts)
    for (const auto& [name, t] : dict) {
      ++tensors;
      const fvc::TorchSaveStorage& s = layout.storages[t.storage];
      int64_t last = t.offset, numel = 1;
      for (size_t k = 0; k < t.sizes.size(); ++k) numel *= t.sizes[k], last += (t.sizes[k] - 1) * t.strides[k];
      if (numel == 0) continue;
      for (int64_t at : {t.offset, last})
        for (size_t b = 0; b < s.elementSize; ++b) sum += static_cast<unsigned char>(s.bytes[static_cast<size_t>(at) * s.elementSize + b]);
    }
  return std::to_string(layout.dicts.size()) + " dicts, " + std::to_string(tensors) + " tensors, checksum " + std::to_string(sum);
}

std::string readNpy(const std::string& path) {
  const std::string bytes = readFile(path);
  const bool u8 = bytes.find("'|u1'") != std::string::npos;
  fvc::NpyLayout layout = u8 ? fvc::parseNpyLayout(path, bytes, "|u1", "uint8", 1) : fvc::parseNpyLayout(path, bytes, "<f4", "float32", 4);
  unsigned sum = 0;
  for (size_t i = 0; i < layout.dataBytes; ++i) sum += static_cast<unsigned char>(bytes[layout.dataStart + i]);
  return std::to_string(layout.shape.size()) + "-d array, checksum " + std::to_string(sum);
}

// Two rows of the three features the seed models were fitted on.
fvc::Dataset probeRows() {
  fvc::Dataset d;
  d.rows = 2;
  d.cols = 3;
  d.x = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75};
  return d;
}

std::string describe(const std::vector<double>& p) {
  std::string s = "p =";
  for (double v : p) s += " " + std::to_string(v);
  return s;
}

std::string readXgboost(const std::string& path) { return describe(fvc::predictXgboost(path, probeRows(), 1)); }
std::string readLiblinear(const std::string& path) { return describe(fvc::predictLogisticRegression(path, probeRows())); }
std::string readLibsvm(const std::string& path) { return describe(fvc::predictSvm(path, probeRows())); }

using Reader = std::function<std::string(const std::string&)>;

const std::map<std::string, Reader>& readers() {
  static const std::map<std::string, Reader> r = {{"video", readVideo},     {"safetensors", readSafetensors}, {"npy", readNpy},      {"pth", readPth},
                                                  {"xgboost", readXgboost}, {"liblinear", readLiblinear},     {"libsvm", readLibsvm}};
  return r;
}

// Extensions the readers pick a format by (XGBoost: .json or .ubj).
std::string extensionOf(const std::string& path) {
  size_t dot = path.find_last_of("./");
  return dot != std::string::npos && path[dot] == '.' ? path.substr(dot) : std::string();
}

// Runs one input: 0 when read or refused with fvc::Error, 1 for anything else.
int runOne(const Reader& reader, const std::string& path, bool verbose) {
  try {
    std::string summary = reader(path);
    if (verbose) std::printf("%s: ok, %s\n", path.c_str(), summary.c_str());
    return 0;
  } catch (const Error& e) {
    if (verbose) std::printf("%s: %s: %s\n", path.c_str(), e.code().c_str(), e.what());
    return 0;
  } catch (const std::bad_alloc&) {
    std::printf("%s: FINDING: std::bad_alloc escaped the reader (an unbounded allocation)\n", path.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::printf("%s: FINDING: %s escaped the reader: %s\n", path.c_str(), typeid(e).name(), e.what());
    return 1;
  }
}

std::vector<std::string> filesIn(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string p = dir + "/" + e->d_name;
      struct stat st {};
      if (e->d_name[0] != '.' && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(p);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A seeded mutation of `in`: one to four edits of the kinds that damaged files show
// (flipped bits, overwritten bytes, boundary values, cut or repeated spans, truncation).
std::string mutate(std::string s, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    // Most damage in real files is near the start (headers, first GOP): bias towards it.
    const size_t limit = (rng() % 2) ? std::min<size_t>(s.size(), 512) : s.size();
    switch (rng() % 7) {
      case 0:
        if (!s.empty()) s[pick(limit)] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s[pick(limit)] = static_cast<char>(rng());
        break;
      case 2: {
        static const unsigned char special[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe};
        if (!s.empty()) s[pick(limit)] = static_cast<char>(special[rng() % sizeof special]);
        break;
      }
      case 3: {
        size_t at = pick(s.size() + 1), n = 1 + pick(64);
        std::string bytes(n, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        s.insert(at, bytes);
        break;
      }
      case 4:
        if (!s.empty()) {
          size_t at = pick(s.size()), n = 1 + pick(std::min<size_t>(256, s.size() - at));
          s.erase(at, n);
        }
        break;
      case 5:
        if (!s.empty()) s.resize(pick(s.size()));
        break;
      case 6:
        if (!s.empty()) {
          size_t at = pick(s.size()), n = 1 + pick(std::min<size_t>(256, s.size() - at));
          s.insert(pick(s.size()), s.substr(at, n));
        }
        break;
    }
  }
  return s;
}

// A mutated zip whose structure survived gets its entries' CRC-32s stamped anew, half of
// the time: otherwise nearly every mutation of a torch.save file ends at the CRC check and
// the pickle and tensor checks behind it are never reached.
void restampZipCrcs(std::string& bytes) {
  try {
    const fvc::ZipArchive zip("fuzz", bytes);
    for (const fvc::ZipEntry& e : zip.entries()) {
      if (e.method != 0) continue;
      const uint32_t crc = fvc::crc32Of(std::string_view(bytes).substr(e.dataOffset, e.size));
      for (uint64_t at : {e.localHeader + 14, e.centralHeader + 16})
        for (int b = 0; b < 4; ++b) bytes[at + b] = static_cast<char>((crc >> (8 * b)) & 0xff);
    }
  } catch (const Error&) {
    // The mutation broke the structure: the reader sees it as it is.
  }
}

int fuzz(const std::string& kind, const Reader& reader, const std::string& dir, long iterations, double seconds, uint64_t seed,
         const std::string& work) {
  std::vector<std::string> seeds = filesIn(dir);
  if (seeds.empty()) {
    std::fprintf(stderr, "%s: no seed files\n", dir.c_str());
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const auto& p : seeds) inputs.emplace_back(readFile(p), extensionOf(p));
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  long run = 0, refused = 0, findings = 0;
  for (; run < iterations; ++run) {
    if (seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) break;
    const size_t which = static_cast<size_t>(rng() % inputs.size());
    std::string bytes = mutate(inputs[which].first, rng);
    if (kind == "pth" && bytes.rfind("PK\x03\x04", 0) == 0 && rng() % 2) restampZipCrcs(bytes);
    // A fresh name per input: the XGBoost model cache keys on the path and file identity.
    const std::string path = work + "/input-" + std::to_string(run) + inputs[which].second;
    writeFile(work + "/current", bytes);
    writeFile(path, bytes);
    try {
      reader(path);
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ++findings;
      const std::string keep = work + "/finding-" + std::to_string(findings) + inputs[which].second;
      writeFile(keep, bytes);
      std::printf("FINDING (iteration %ld, seed file %s): %s: %s; input kept as %s\n", run, seeds[which].c_str(), typeid(e).name(), e.what(),
                  keep.c_str());
    }
    std::remove(path.c_str());
  }
  std::remove((work + "/current").c_str());
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("fuzz %s: %ld inputs from %zu seeds in %.1f s (seed %llu), %ld refused with a typed error, %ld findings\n", kind.c_str(), run,
              seeds.size(), took, static_cast<unsigned long long>(seed), refused, findings);
  return findings == 0 ? 0 : 1;
}

// Model and array seeds, written by fvc's own writers so they are what users' runs hold.
int writeSeeds(const std::string& dir) {
  for (const char* sub : {"", "/xgboost", "/liblinear", "/libsvm", "/npy"}) ::mkdir((dir + sub).c_str(), 0755);
  fvc::Dataset train;
  train.cols = 3;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 40; ++i) {
    const double label = i % 2;
    for (int c = 0; c < 3; ++c) train.x.push_back(normal(rng) + (c == 0 ? 1.5 * label : 0.0));
    train.y.push_back(label);
    ++train.rows;
  }
  fvc::fitXgboost(train, nullptr, {{"num_boost_round", "4"}, {"max_depth", "2"}, {"nthread", "1"}}, dir + "/xgboost/model.json");
  fvc::fitXgboost(train, nullptr, {{"num_boost_round", "4"}, {"max_depth", "2"}, {"nthread", "1"}}, dir + "/xgboost/model.ubj");
  fvc::fitLogisticRegression(train, {}, dir + "/liblinear/model.txt");
  fvc::fitSvm(train, {{"kernel", "rbf"}}, dir + "/libsvm/rbf.txt");
  fvc::fitSvm(train, {{"kernel", "linear"}}, dir + "/libsvm/linear.txt");
  const std::vector<float> f = {0.5f, -1.0f, 2.0f, 3.5f, 0.0f, 1e-3f};
  fvc::writeNpy(dir + "/npy/float32.npy", fvc::NpyType::Float32, {2, 3}, f.data());
  const std::vector<uint8_t> u = {1, 2, 3, 4, 5, 6, 7, 8};
  fvc::writeNpy(dir + "/npy/uint8.npy", fvc::NpyType::Uint8, {2, 2, 2, 1}, u.data());
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: fvc-native-check read <kind> FILE...\n"
               "       fvc-native-check fuzz <kind> DIR [--iterations N] [--seconds S] [--seed S] [--work DIR]\n"
               "       fvc-native-check seed DIR\n"
               "kinds: video, safetensors, npy, pth, xgboost, liblinear, libsvm\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Decode errors are counted through the log callback; printing them would bury the findings.
  fvc::av::installDamageCounting();
  av_log_set_level(AV_LOG_QUIET);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "seed") return writeSeeds(args[1]);
  if (args.size() < 3) return usage();
  auto it = readers().find(args[1]);
  if (it == readers().end()) return usage();
  if (args[0] == "read") {
    int findings = 0;
    for (size_t i = 2; i < args.size(); ++i) findings += runOne(it->second, args[i], true);
    return findings == 0 ? 0 : 1;
  }
  if (args[0] != "fuzz") return usage();
  long iterations = 1000;
  double seconds = 0;
  uint64_t seed = 1;
  std::string work = "/tmp";
  for (size_t i = 3; i + 1 < args.size(); i += 2) {
    if (args[i] == "--iterations") iterations = std::stol(args[i + 1]);
    else if (args[i] == "--seconds") seconds = std::stod(args[i + 1]);
    else if (args[i] == "--seed") seed = std::stoull(args[i + 1]);
    else if (args[i] == "--work") work = args[i + 1];
    else return usage();
  }
  return fuzz(args[1], it->second, args[2], iterations, seconds, seed, work);
}
