// The LibTorch reference for every operator and any ConvProgram. This header deliberately uses
// only nasx types, so that LibTorch's slow headers stay inside src/torch's translation units.
#pragma once

#include <vector>

#include "program/ops.h"
#include "support/tensor.h"
#include "support/timing.h"

namespace nasx {

// The operator computed by LibTorch: inputs and params as in CompiledOp::run.
Tensor torch_reference(const Op& op, const std::vector<Tensor>& inputs,
                       const std::vector<Tensor>& params);

// Times LibTorch eager on the operator (inference mode), warmup then repeat.
TimingStats time_torch_reference(const Op& op, const std::vector<Tensor>& inputs,
                                 const std::vector<Tensor>& params, int warmup, int repeat);

// Intra-op threads for LibTorch (nasx's kernels use all cores through OpenMP).
void set_torch_threads(int threads);

}  // namespace nasx
