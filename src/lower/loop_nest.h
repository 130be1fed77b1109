// The first lowering step: an operator on concrete input shapes becomes a loop nest with the
// default schedule. The default schedule is the simple, not absurd one: the outermost loop (over
// batch x channels, fused) runs in parallel, and the innermost unit-stride loop over the output
// row (x, contiguous in NCHW) is vectorized. A vectorized loop must have independent iterations;
// reductions stay serial. Convolution loops carry exact bounds derived from the program's
// quasi-affine accesses, so the inner loop has no padding branch: for each kx the valid x range
// is computed, and out-of-window rows are skipped once per (y, ky).
#pragma once

#include "lower/kernel.h"
#include "lower/pipeline.h"
#include "program/ops.h"

namespace nasx {

LoweredKernel build_loop_nest(const Op& op, const std::vector<Shape>& inputs,
                              const std::string& name, const LowerOptions& options = {});

}  // namespace nasx
