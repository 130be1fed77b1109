// `nasx export --lib DIR`: a compiled network as a deployable C library that needs nothing from
// nasx. DIR gets libnasx_model.so (the kernels CompiledNetwork would run, generated and compiled
// the same way, with a driver that runs them in order over an arena laid out by the same memory
// plan, and the packed weights embedded by an assembler .incbin), nasx_model.h (a C99 API with
// the shapes fixed at export), example.c (runs the model on a .npy file) and a Makefile that
// builds the example with only a C compiler. DIR is built beside itself and renamed into place,
// so a failure leaves no half-written DIR.
#pragma once

#include <cstdint>
#include <string>

#include "graph/network.h"
#include "runtime/compiled_network.h"

namespace nasx {

struct LibraryExport {
  std::string dir;
  int64_t batch = 1;
  std::string nasx_version;  // written into the header
};

struct LibrarySummary {
  size_t kernels = 0, steps = 0;
  int64_t weight_bytes = 0, arena_bytes = 0;
  double compile_seconds = 0;
};

// UserError unless `dir` can take an export: absent, an empty directory, or a previous export
// (its nasx_model.h was written by nasx). Called before any work, and again before the rename.
void check_library_dir(const std::string& dir);

// Writes the library. `knobs` chooses each kernel's knobs as CompiledNetwork::compile's does.
LibrarySummary export_library(Network net, const LibraryExport& options,
                              const KnobChooser& knobs = {});

}  // namespace nasx
