// A lowered kernel: a loop nest over named buffers, ready for code generation. The generated
// function takes one array of pointers, in `args` order: activation inputs, then the operator's
// parameters in param_specs() order, then the output.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"
#include "lower/param_packing.h"

namespace nasx {

// Arguments carry their layouts (ir/layout.h); a parameter argument may also be packed
// (`packing`, one per operator parameter, in param_specs() order).
struct LoweredKernel {
  std::string name;
  std::vector<ir::Buffer> args;
  std::vector<ParamPacking> packing;
  ir::Stmt body;
  std::vector<std::string> templates;  // per conv statement: "blocked oc_v=4 ..." or "gemm"
};

}  // namespace nasx
