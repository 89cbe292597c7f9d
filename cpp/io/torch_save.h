#pragma once
// The layout of a torch.save file (.pth / .pt / .pyth), read by fvc itself and without
// LibTorch, so that the sanitizer and fuzz driver (cpp/tools/native_check.cpp) exercise
// exactly the code that reads users' weights; torch/tensor_io.cpp turns the layout into
// tensors. Both formats torch.save has written: the zip archive (PyTorch 1.6 on: data.pkl
// plus one record per storage) and the legacy stream (magic number, protocol, system info,
// the object, its storage keys, then the storages).
//
// Only what a state dict or checkpoint holds is understood: dicts, lists, tuples, numbers,
// strings, tensors and parameters. Anything else (an arbitrary pickled class) is refused by
// name and never executed. Every number that places a tensor is checked with overflow-safe
// arithmetic: a view must lie inside its storage and may not have more elements than the
// storage holds. The reader's budgets (refused with ERR_INVALID_DATA naming the file):
// kMaxPickleOps opcodes, kMaxPickleObjects objects, kMaxPickleStack stack entries and
// memo slots, dicts nested kMaxDictDepth deep; a zip entry inflates to at most
// kMaxInflateRatio times its compressed size. No recursion depends on the input.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fvc {

inline constexpr uint64_t kMaxPickleOps = 64'000'000;
inline constexpr uint64_t kMaxPickleObjects = 4'000'000;
inline constexpr uint64_t kMaxPickleStack = 100'000;
inline constexpr int kMaxDictDepth = 32;
inline constexpr size_t kMaxTensorDims = 32;

struct TorchSaveStorage {
  std::string key;
  std::string dtype;  // safetensors' names: "F32", "BF16", "I64", ...
  size_t elementSize = 0;
  uint64_t numel = 0;                        // elements the file holds for it
  std::string_view bytes;                    // numel * elementSize bytes
  std::shared_ptr<const std::string> owned;  // set when `bytes` were inflated
};

struct TorchSaveTensor {
  size_t storage = 0;  // index into TorchSaveLayout::storages
  int64_t offset = 0;  // in elements
  std::vector<int64_t> sizes, strides;
};

struct TorchSaveLayout {
  std::vector<TorchSaveStorage> storages;
  // Every dict of tensors in the saved object, by its path of keys joined by '/' ("" is
  // the top level): a state dict, or a checkpoint holding one under some key.
  std::map<std::string, std::map<std::string, TorchSaveTensor>> dicts;
};

// True when `bytes` start like a torch.save file (zip, or a legacy pickle stream).
bool looksLikeTorchSave(std::string_view bytes);

// `bytes` is the whole file and must outlive the layout; `path` names it in errors.
TorchSaveLayout parseTorchSaveLayout(const std::string& path, std::string_view bytes);

}  // namespace fvc
