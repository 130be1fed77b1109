// Internal to src/torch (includes LibTorch): each operator as LibTorch functional calls, and
// conversions between nasx and LibTorch tensors. The reference and the network twin share it.
#pragma once

#include <torch/torch.h>

#include <random>
#include <vector>

#include "graph/network.h"
#include "program/ops.h"
#include "support/tensor.h"

namespace nasx {

// In training mode, batch norm uses the batch's statistics; it updates the running ones (params 2
// and 3, in place, momentum 0.1) only when `update_running` is set (training, not the proxies).
torch::Tensor torch_forward(const Op& op, const std::vector<torch::Tensor>& inputs,
                            const std::vector<torch::Tensor>& params, bool training = false,
                            bool update_running = false);

// A network's tensors as LibTorch tensors, in `dtype` on `device`. With `grad`, parameters track
// gradients (and are listed in `trainable`); batch-norm running statistics are buffers. With
// `absolute`, parameters are replaced by their absolute values (synflow).
struct TorchParams {
  std::vector<std::vector<torch::Tensor>> values;  // per node, per parameter
  std::vector<torch::Tensor> trainable;
  TorchParams(const Network& net, bool grad, bool absolute = false,
              torch::Dtype dtype = torch::kFloat32, torch::Device device = torch::kCPU);
};

// Every node's output, the graph evaluated in order (torch_forward's modes).
std::vector<torch::Tensor> forward_graph(const Network& net, const TorchParams& params,
                                         const torch::Tensor& input, bool training,
                                         bool update_running = false);

// Random crop (zero padding `pad`) and horizontal flip of each image, drawn from `rng`.
torch::Tensor augment_batch(const torch::Tensor& images, int64_t pad, std::mt19937_64& rng);
torch::Tensor to_torch(const Tensor& t);  // a copy
Tensor from_torch(const torch::Tensor& t);

}  // namespace nasx
