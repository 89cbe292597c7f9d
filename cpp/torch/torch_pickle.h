#pragma once
// State dicts from torch.save files (.pth / .pt / .pyth), read by fvc itself:
// LibTorch 1.13's own pickle_load stops at the attribute every state dict carries
// (OrderedDict._metadata). Both formats torch.save has written: the zip archive
// (PyTorch 1.6 on: data.pkl plus one record per storage) and the legacy stream
// (magic number, protocol, system info, the object, its storage keys, then the
// storages). Only what a state dict or checkpoint holds is understood: dicts,
// lists, tuples, numbers, strings, tensors and parameters; anything else (an
// arbitrary pickled class) is refused by name and never executed.
#include <torch/torch.h>

#include <map>
#include <string>

namespace fvc::deep {

// Every dict of tensors in the saved object, by its path of keys joined by '/' ("" is
// the top level): a state dict, or a checkpoint holding one under some key.
struct TorchSaveFile {
  std::map<std::string, std::map<std::string, torch::Tensor>> dicts;
};

// `bytes` is the whole file; `path` names it in errors.
TorchSaveFile readTorchSave(const std::string& path, const std::string& bytes);

}  // namespace fvc::deep
