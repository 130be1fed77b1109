// How a network binds to its kernels, decided once for the two ways nasx runs a network: the
// in-process CompiledNetwork and the exported C library (runtime/export_library.h). BatchNorm
// folded, epilogues fused, layouts, knobs chosen, the distinct kernels lowered, the activation
// arena planned and checked against this machine's memory, each node's arguments (where each
// points) and its parameters packed as its kernel reads them. Both consumers only render it:
// pointers into an arena, or tables in a generated driver.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/compiled_network.h"

namespace nasx {

struct NetworkBinding {
  // Where a kernel argument points: the caller's input, the input staged into its (haloed or
  // blocked) layout, a float offset into the arena, or a packed parameter (index into packed).
  enum class Where { Input, Staged, Arena, Weights };
  struct Arg {
    Where where;
    int64_t offset;
  };
  struct Step {
    size_t kernel;          // index into lowered.kernels
    std::vector<Arg> args;  // the kernel's argument order: inputs, parameters, output
    Shape output_shape;
    ir::Layout output_layout;  // a halo is zeroed before the step writes the interior
  };
  NetworkKernels kernels;  // executed network, shapes, layouts, instances (knobs chosen)
  LoweredOps lowered;
  MemoryPlan plan;
  Shape input_shape, output_shape;
  std::vector<Step> steps;                 // one per executed node, in order
  std::vector<std::vector<float>> packed;  // every parameter, packed, in step order
  int64_t staged_floats = 0;               // 0 when the input layout is plain
  int64_t output_offset() const { return steps.back().args.back().offset; }
};

// Binds `net` at `batch`: a UserError when this machine cannot hold the arena, the staged input
// and the caller's input and output.
NetworkBinding bind_network(Network net, int64_t batch, const KnobChooser& knobs = {});

}  // namespace nasx
