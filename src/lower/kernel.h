// A lowered kernel: a loop nest over named buffers, ready for code generation. The generated
// function takes one array of pointers, in `args` order: activation inputs, then the operator's
// parameters in param_specs() order, then the output.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"

namespace nasx {

struct LoweredKernel {
  std::string name;
  std::vector<ir::Buffer> args;
  ir::Stmt body;
};

}  // namespace nasx
