// Precompiled header of every translation unit that uses LibTorch (see CMakeLists.txt).
#pragma once
#include <torch/torch.h>
