// Every operator a zoo network needs, as plain values, and the facts derived from each: output
// shape (with the user-facing checks), parameter tensors, parameter count and MACs. `Op` lists
// the kinds once; lowering (src/lower) and the LibTorch reference (src/torch) visit it.
// All activations are NCHW float32 (N x F for Linear).
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "program/conv_program.h"
#include "support/tensor.h"

namespace nasx {

// Inference batch norm: y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel; with
// relu, followed by max(y, 0) in the same kernel (DenseNet's pre-activation norm + relu).
struct BatchNorm {
  int64_t channels = 0;
  double eps = 1e-5;
  bool relu = false;
  bool operator==(const BatchNorm&) const = default;
};
struct Relu {
  bool operator==(const Relu&) const = default;
};
// Elementwise sum of two same-shaped tensors (the residual add).
struct ResidualAdd {
  bool operator==(const ResidualAdd&) const = default;
};
// Concatenation along channels of inputs with these channel counts (DenseNet).
struct Concat {
  std::vector<int64_t> channels;
  bool operator==(const Concat&) const = default;
};
// Max pooling; padding reads -infinity (torch semantics, floor output size).
struct MaxPool {
  int64_t kernel = 2, stride = 2, pad = 0;
  bool operator==(const MaxPool&) const = default;
};
// Average pooling with count_include_pad = true (torch's default).
struct AvgPool {
  int64_t kernel = 2, stride = 2, pad = 0;
  bool operator==(const AvgPool&) const = default;
};
// Mean over H and W, keeping [N, C, 1, 1] (torch's adaptive_avg_pool2d to 1x1).
struct GlobalAvgPool {
  bool operator==(const GlobalAvgPool&) const = default;
};
// y = x W^T + b on [N, in_features].
struct Linear {
  int64_t in_features = 0, out_features = 0;
  bool bias = true;
  bool operator==(const Linear&) const = default;
};
// [N, C, H, W] -> [N, C*H*W].
struct Flatten {
  bool operator==(const Flatten&) const = default;
};

// A convolution with its epilogue applied in the same kernel, as the runtime's fusion pass makes
// it: out = relu?(conv(x) + bias + residual?). Inputs: x, and the residual when `residual`.
struct FusedConv {
  ConvProgram program;
  bool residual = false;
  bool relu = false;
  bool operator==(const FusedConv&) const = default;
};

using Op = std::variant<ConvProgram, BatchNorm, Relu, ResidualAdd, Concat, MaxPool, AvgPool,
                        GlobalAvgPool, Linear, Flatten, FusedConv>;

struct ParamSpec {
  std::string name;  // weight, bias, gamma, ..., or weight0, weight1 ... per conv statement
  Shape shape;
};

std::string op_name(const Op& op);
int64_t op_arity(const Op& op);  // number of activation inputs
Shape infer_shape(const Op& op, const std::vector<Shape>& inputs);
std::vector<ParamSpec> param_specs(const Op& op);
int64_t param_count(const Op& op);
int64_t op_macs(const Op& op, const std::vector<Shape>& inputs);
// The convolution of a ConvProgram or FusedConv operator; null for the others.
const ConvProgram* conv_program_of(const Op& op);

}  // namespace nasx
