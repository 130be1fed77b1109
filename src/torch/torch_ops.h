// Internal to src/torch (includes LibTorch): each operator as LibTorch functional calls, and
// conversions between nasx and LibTorch tensors. The reference and the network twin share it.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "program/ops.h"
#include "support/tensor.h"

namespace nasx {

// In training mode, batch norm uses the batch's statistics (and does not update running ones).
torch::Tensor torch_forward(const Op& op, const std::vector<torch::Tensor>& inputs,
                            const std::vector<torch::Tensor>& params, bool training = false);
torch::Tensor to_torch(const Tensor& t);  // a copy
Tensor from_torch(const torch::Tensor& t);

}  // namespace nasx
