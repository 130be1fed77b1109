// A compiled operator: one generated kernel bound to its operator and shapes, callable on host
// tensors. Many operators compile into one shared library (compile_ops), which is how tests and
// the tuner amortise the compiler's start-up.
#pragma once

#include <memory>
#include <vector>

#include "codegen/module.h"
#include "program/ops.h"
#include "transform/schedule.h"

namespace nasx {

struct OpInstance {
  Op op;
  std::vector<Shape> inputs;
  Schedule schedule = {};  // schedule transformations on the default loop nest
};

class CompiledOp {
 public:
  CompiledOp(OpInstance inst, Shape output, KernelFn fn, std::shared_ptr<CompiledModule> module)
      : inst_(std::move(inst)),
        params_(param_specs(inst_.op)),
        output_(std::move(output)),
        fn_(fn),
        module_(std::move(module)) {}

  const Shape& output_shape() const { return output_; }
  KernelFn function() const { return fn_; }
  // Checks shapes (a mismatch is a UserError), then runs the kernel into `out`.
  void run(const std::vector<const Tensor*>& inputs, const std::vector<const Tensor*>& params,
           Tensor& out) const;
  Tensor run(const std::vector<const Tensor*>& inputs,
             const std::vector<const Tensor*>& params) const;

 private:
  OpInstance inst_;
  std::vector<ParamSpec> params_;  // derived once: run() is timed
  Shape output_;
  KernelFn fn_;
  std::shared_ptr<CompiledModule> module_;  // keeps the library loaded
};

std::vector<CompiledOp> compile_ops(const std::vector<OpInstance>& ops);

// Threads the generated kernels run on: NASX_NUM_THREADS, else OMP_NUM_THREADS, else every
// processor. Other OpenMP users in the process (LibTorch sets its own count on the calling
// thread when it initialises) must not change it, so every run claims it again:
// claim_kernel_threads() sets the calling thread's OpenMP thread count to kernel_threads().
int kernel_threads();
void claim_kernel_threads();
CompiledOp compile_op(const OpInstance& op);

}  // namespace nasx
