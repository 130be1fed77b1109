// The fixed text of the files `nasx export --lib` writes (runtime/export_library.h): the C
// header, the driver's code after its generated tables, example.c, the Makefile and the
// assembler file that embeds the weights. Kept apart from the logic that fills them.
#pragma once

#include <cstdint>
#include <string>

#include "support/tensor.h"

namespace nasx {

// nasx_model.h's first line: what marks a directory as a previous export that may be replaced.
extern const char* const kHeaderMark;

// nasx_model.h for a network exported at `batch`, built with `flags` for this CPU's ISA.
std::string library_header(const std::string& name, int64_t batch, const Shape& input,
                           const Shape& output, const std::string& version,
                           const std::string& flags);

// The driver's code after its tables kArgs, kHalos, kSteps, kIn... (export_library.cpp).
extern const char* const kDriverRuntime;
// example.c: runs the model on a .npy input and writes a .npy output (C99).
extern const char* const kExample;
// Builds example.c against the library with the system C compiler, rpath $ORIGIN.
extern const char* const kMakefile;
// weights.S: .incbin of weights.bin as nasx_model_weights, read-only, 64-byte aligned, hidden.
extern const char* const kWeightsAsm;

}  // namespace nasx
