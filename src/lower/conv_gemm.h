// The im2col + GEMM schedule for one convolution statement, used when a group has at least four
// output channels. Each parallel task takes one image, one group, one block of PB output positions
// (the output plane flattened, y * OW + x) and a chunk of output-channel tiles. It copies the
// block's input window into a panel col[k][pb], k = (ci, ky, kx), zero where the statement's
// window ends (so padding and row tiles cost nothing later), then runs a register-tiled GEMM:
// COT output channels x PB positions of accumulators, updated for each k by COT weight
// broadcasts times one panel row. The epilogue (bias, residual, ReLU) is applied to the
// accumulators before the single store. Knobs are chosen by rule here; the tuner will own them.
#pragma once

#include <vector>

#include "ir/ir.h"
#include "program/conv_program.h"

namespace nasx {

struct ConvBuffers {
  ir::Buffer input, output;
  ir::Buffer residual;              // may be null
  ir::Buffer bias;                  // may be null
  std::vector<ir::Buffer> weights;  // one per statement
};

bool conv_gemm_applies(const ConvStatement& s);

ir::Stmt lower_conv_gemm(const ConvProgram& p, size_t statement, int64_t batch,
                         const ConvBuffers& b, bool relu);

}  // namespace nasx
