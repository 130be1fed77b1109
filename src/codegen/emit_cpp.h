// The C++ emitter: an IRPrinter subclass that spells the IR as C++17 for GCC/Clang. Each kernel
// becomes `extern "C" void name(float* const* args)` with shapes as compile-time constants;
// parallel loops become OpenMP `parallel for`, vectorized loops `omp simd` (iterations are
// independent by the vectorize precondition), unrolled loops `GCC unroll`. Integer division and
// modulus are floor operations (the IR's meaning), through small inline helpers in the prelude.
#pragma once

#include <string>
#include <vector>

#include "lower/kernel.h"

namespace nasx {

// One translation unit holding every kernel (many variants per .so amortise compiler start-up).
std::string emit_cpp_module(const std::vector<LoweredKernel>& kernels);

}  // namespace nasx
