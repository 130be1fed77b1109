// How an operator parameter becomes its kernel's argument, done once when weights are loaded:
// reordered into the argument's layout, and for the blocked template's packed statements
// expanded block-diagonally (several groups side by side in one vector, zeros between them).
// Part of every LoweredKernel, so it knows nothing of the templates that choose it.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/ir.h"
#include "support/tensor.h"

namespace nasx {

struct ParamPacking {
  bool block_diagonal = false;  // expand [co, cpg, K, K] to [co, span, K, K] with zeros
  int64_t co_per_group = 0, ci_per_group = 0, span = 0, lanes = 0;
  std::vector<float> pack(const Tensor& weight, const ir::Buffer& arg) const;
};

}  // namespace nasx
