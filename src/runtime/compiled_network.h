// A compiled network: BatchNorm folded, epilogues fused, one generated kernel per node (identical
// kernels shared), activations in one arena laid out by the memory plan, every kernel's argument
// array prepared at compile time (runtime/network_binding.h decides them, as it does for the
// exported library). run() allocates nothing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/network.h"
#include "runtime/compiled_op.h"
#include "runtime/layouts.h"
#include "runtime/memory_plan.h"
#include "support/timing.h"

namespace nasx {

// Chooses an instance's knobs before it is compiled (the tuner's records: tune/tune.h).
using KnobChooser = std::function<void(OpInstance&)>;

// A network as CompiledNetwork compiles it: BatchNorm folded, epilogues fused, shapes, the
// layouts of runtime/layouts.h, and one operator instance per node. The tuner and the search
// time exactly these kernels. Takes the network by value (std::move it to fold in place).
struct NetworkKernels {
  Network executed;
  std::vector<Shape> shapes;
  NetworkLayouts layouts;
  std::vector<OpInstance> instances;
};
NetworkKernels network_kernels(Network net, int64_t batch);

// The arena plan of those kernels' activations, each sized in its layout (halo and blocking).
MemoryPlan plan_activations(const Network& executed, const std::vector<Shape>& shapes,
                            const NetworkLayouts& layouts);

class CompiledNetwork {
 public:
  // Compiles `net` for this batch size (shapes are compile-time constants in the kernels).
  // Takes the network by value: pass std::move(net) when the caller no longer needs it, and the
  // weights are folded in place instead of copied.
  static CompiledNetwork compile(Network net, int64_t batch, const KnobChooser& knobs = {});

  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  const Network& executed() const { return executed_; }  // after folding and fusion
  const MemoryPlan& memory_plan() const { return plan_; }

  // input and output hold num_elements(input_shape()) and num_elements(output_shape()) floats.
  void run(const float* input, float* output);
  Tensor run(const Tensor& input);  // checks the shape (UserError on mismatch)

  // Where one run's time goes: `repeat` runs (after `warmup`), each step timed as it runs in
  // the network (its halo zeroing apart from its kernel), the input's staging, the copy of the
  // output, and the whole run; per part the median over the runs. What the executor adds is the
  // whole run's median less the parts' (clock reads included).
  struct StepProfile {
    std::string node, op, templates;  // templates: "blocked oc_v=2 ...; gemm" per statement
    TimingStats kernel, halo;
  };
  struct Profile {
    std::vector<StepProfile> steps;
    TimingStats staging, output_copy, whole;
  };
  Profile profile(const Tensor& input, int warmup, int repeat);

 private:
  struct Step {
    KernelFn fn;
    std::vector<float*> args;
    std::vector<int> input_args;  // positions in args that read the network input
    Shape output_shape;
    ir::Layout output_layout;  // a halo is zeroed before the step writes the interior
    std::string templates;     // what lowered it, for profiles
  };
  Network executed_;
  Shape input_shape_, output_shape_;
  MemoryPlan plan_;
  std::vector<std::shared_ptr<CompiledModule>> modules_;  // keep the libraries loaded
  std::vector<Step> steps_;
  std::unique_ptr<float[]> arena_;
  std::vector<std::vector<float>> packed_;  // parameters as the kernels read them
  ir::Layout input_layout_;                 // the input is copied into it when not plain
  std::vector<float> staged_input_;
};

}  // namespace nasx
