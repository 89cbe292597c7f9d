#pragma once
// Tensors from files users bring: .safetensors weights (the format of Hugging Face's
// safetensors, read without the library: an 8-byte little-endian header length, a
// JSON header of name -> dtype, shape, byte range, then the raw data) and float32
// .npy clips. Errors name the file and what is wrong with it.
#include <torch/torch.h>

#include <map>
#include <string>

namespace fvc::deep {

// Every tensor of a .safetensors file, on the CPU, in file order of names.
std::map<std::string, torch::Tensor> loadSafetensors(const std::string& path);

// A state dict from a weights file users bring, by its content: .safetensors, or a
// torch.save file (.pth / .pt / .pyth, zip format) holding a state dict or a checkpoint
// with one under state_dict / model_state / model. DataParallel's "module." prefix is
// dropped. Errors name the file and what it holds instead.
std::map<std::string, torch::Tensor> loadWeights(const std::string& path);

// Writes tensors as .safetensors (used for exporting fvc weights), atomically.
void saveSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors);

// A little-endian float32 .npy array (C order).
torch::Tensor loadNpyFloat32(const std::string& path);

// A uint8 .npy array (C order), e.g. a frame-cache entry [N, H, W, 3].
torch::Tensor loadNpyUint8(const std::string& path);

}  // namespace fvc::deep
