#include "torch/tensor_io.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <sys/stat.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/read_file.h"
#include "io/safetensors.h"
#include "io/torch_save.h"

namespace fvc::deep {
namespace {

torch::Dtype dtypeOf(const std::string& d, const std::string& path, const std::string& name) {
  if (d == "F32") return torch::kFloat32;
  if (d == "F64") return torch::kFloat64;
  if (d == "F16") return torch::kFloat16;
  if (d == "BF16") return torch::kBFloat16;
  if (d == "I64") return torch::kInt64;
  if (d == "I32") return torch::kInt32;
  if (d == "I16") return torch::kInt16;
  if (d == "I8") return torch::kInt8;
  if (d == "U8") return torch::kUInt8;
  if (d == "BOOL") return torch::kBool;
  throw Error(code::kInvalidData, path + ": tensor '" + name + "' has unsupported dtype " + d);
}

std::string dtypeName(torch::Dtype d) {
  switch (d) {
    case torch::kFloat32:
      return "F32";
    case torch::kFloat64:
      return "F64";
    case torch::kFloat16:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    case torch::kInt64:
      return "I64";
    case torch::kInt32:
      return "I32";
    case torch::kInt16:
      return "I16";
    case torch::kInt8:
      return "I8";
    case torch::kUInt8:
      return "U8";
    case torch::kBool:
      return "BOOL";
    default:
      throw Error(code::kInvalidArgument, "safetensors: unsupported tensor type");
  }
}

}  // namespace

namespace {

std::map<std::string, torch::Tensor> parseSafetensors(const std::string& path, const std::string& bytes) {
  const SafetensorsLayout layout = parseSafetensorsLayout(path, bytes);
  std::map<std::string, torch::Tensor> out;
  for (const SafetensorsTensor& e : layout.tensors) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(dtypeOf(e.dtype, path, e.name)));
    std::memcpy(t.data_ptr(), bytes.data() + layout.dataStart + e.begin, e.end - e.begin);
    out.emplace(e.name, t);
  }
  return out;
}

}  // namespace

std::map<std::string, torch::Tensor> loadSafetensors(const std::string& path) { return parseSafetensors(path, readRegularFile(path)); }

namespace {

// A torch.save file holds whatever object was saved: a bare state dict, or a training
// checkpoint with the state dict under one of these keys (PyTorchVideo's hub files use
// model_state, Lightning state_dict).
const char* const kNestedKeys[] = {"state_dict", "model_state", "model", "module"};

// nn.DataParallel saves every name under "module."; the model itself has none.
std::map<std::string, torch::Tensor> stripDataParallel(std::map<std::string, torch::Tensor> in) {
  const std::string prefix = "module.";
  for (const auto& [name, _] : in)
    if (name.rfind(prefix, 0) != 0) return in;
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : in) out.emplace(name.substr(prefix.size()), std::move(t));
  return out;
}

// One dict of a torch.save layout as tensors: each view copied out of its storage (the
// layout has checked that it lies inside). The storages are the file's bytes, read in
// place where their alignment allows.
std::map<std::string, torch::Tensor> materialise(const TorchSaveLayout& layout, const std::map<std::string, TorchSaveTensor>& dict,
                                                 const std::string& path) {
  std::vector<torch::Tensor> storages(layout.storages.size());
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : dict) {
    const TorchSaveStorage& s = layout.storages[t.storage];
    torch::Tensor& whole = storages[t.storage];
    if (!whole.defined()) {
      const auto options = torch::TensorOptions().dtype(dtypeOf(s.dtype, path, name));
      const auto numel = static_cast<int64_t>(s.numel);
      if (reinterpret_cast<uintptr_t>(s.bytes.data()) % s.elementSize == 0) {
        whole = torch::from_blob(const_cast<char*>(s.bytes.data()), {numel}, options);
      } else {
        whole = torch::empty({numel}, options);
        std::memcpy(whole.data_ptr(), s.bytes.data(), s.bytes.size());
      }
    }
    out.emplace(name, whole.as_strided(t.sizes, t.strides, t.offset).clone(at::MemoryFormat::Contiguous));
  }
  return out;
}

std::map<std::string, torch::Tensor> loadTorchSave(const std::string& path, const std::string& bytes) {
  const TorchSaveLayout layout = parseTorchSaveLayout(path, bytes);
  for (const char* key : kNestedKeys)
    if (layout.dicts.count(key)) return stripDataParallel(materialise(layout, layout.dicts.at(key), path));
  if (!layout.dicts.count(""))
    throw Error(code::kInvalidData, path + ": no state dict at its top level or under " + "state_dict / model_state / model / module");
  return stripDataParallel(materialise(layout, layout.dicts.at(""), path));
}

}  // namespace

std::map<std::string, torch::Tensor> loadWeights(const std::string& path) {
  const std::string bytes = readRegularFile(path);
  try {
    // torch.save has written a zip archive since PyTorch 1.6; before, a bare pickle stream.
    return looksLikeTorchSave(bytes) ? loadTorchSave(path, bytes) : stripDataParallel(parseSafetensors(path, bytes));
  } catch (const c10::Error& e) {
    // LibTorch's own message knows nothing of the file.
    throw Error(code::kTorch, path + ": " + e.what_without_backtrace());
  }
}

void saveSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors) {
  std::string header = "{";
  int64_t offset = 0;
  std::vector<torch::Tensor> contiguous;
  for (auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const int64_t size = c.numel() * static_cast<int64_t>(c.element_size());
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"" + dtypeName(c.scalar_type()) + "\",\"shape\":[";
    for (int64_t i = 0; i < c.dim(); ++i) header += (i ? "," : "") + std::to_string(c.size(i));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + size) + "]}";
    offset += size;
    contiguous.push_back(c);
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  for (auto& c : contiguous) out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  writeFileAtomic(path, out.data(), out.size());
}

namespace {

torch::Tensor loadNpy(const std::string& path, const char* descr, torch::Dtype dtype, const char* typeName) {
  const std::string bytes = readRegularFile(path);
  const NpyLayout layout = parseNpyLayout(path, bytes, descr, typeName, torch::elementSize(dtype));
  torch::Tensor t = torch::empty(layout.shape, dtype);
  std::memcpy(t.data_ptr(), bytes.data() + layout.dataStart, layout.dataBytes);
  return t;
}

}  // namespace

torch::Tensor loadNpyFloat32(const std::string& path) { return loadNpy(path, "<f4", torch::kFloat32, "float32"); }

torch::Tensor loadNpyUint8(const std::string& path) { return loadNpy(path, "|u1", torch::kUInt8, "uint8"); }

}  // namespace fvc::deep
