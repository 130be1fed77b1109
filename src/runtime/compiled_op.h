// A compiled operator: one generated kernel bound to its operator and shapes, callable on host
// tensors. Many operators compile into one shared library (compile_ops), which is how tests and
// the tuner amortise the compiler's start-up.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "codegen/module.h"
#include "lower/pipeline.h"
#include "program/ops.h"
#include "transform/schedule.h"

namespace nasx {

struct OpInstance {
  Op op;
  std::vector<Shape> inputs;
  Schedule schedule = {};  // schedule transformations on the default loop nest
  // Layouts of inputs and output (empty: plain; runtime/layouts.h chooses them), and the
  // blocked template's knobs per conv statement (empty: the default rule).
  std::vector<ir::Layout> layouts = {};
  std::vector<ConvKnobs> knobs = {};
};

// This machine as the knobs see it (support/cpu.h's ISA and L2).
KnobTarget knob_target();
// The LowerOptions an instance lowers with (layouts, knobs, the target ISA's vectors).
LowerOptions lower_options(const OpInstance& op);

// An instance's kernel (named "nasx_kernel") and its identity (codegen/module.h, kernel_key).
// Lowering is the cost of knowing a kernel's identity, so it is remembered for the process: the
// search, the tuner and compile_ops ask for the same instances many times and lower each once.
struct IdentifiedKernel {
  LoweredKernel kernel;
  std::string key;
};
std::shared_ptr<const IdentifiedKernel> identify(const OpInstance& op);
// identify(op)->key: what de-duplication, tuning records and the search's sharing compare.
std::string kernel_key(const OpInstance& op);

// A kernel bound to data in its own layouts: inputs reordered, parameters packed, output
// allocated. run() is the kernel alone (what a benchmark times); output() reorders back.
class BoundOp {
 public:
  void run() const;
  Tensor output() const;

 private:
  friend class CompiledOp;
  KernelFn fn_ = nullptr;
  std::vector<std::vector<float>> storage_;
  std::vector<float*> args_;
  Shape output_shape_;
  ir::Layout output_layout_;
};

class CompiledOp {
 public:
  CompiledOp(OpInstance inst, Shape output, KernelFn fn, std::shared_ptr<CompiledModule> module,
             const LoweredKernel& kernel = {})
      : inst_(std::move(inst)),
        params_(param_specs(inst_.op)),
        output_(std::move(output)),
        fn_(fn),
        module_(std::move(module)),
        args_(kernel.args),
        packing_(kernel.packing),
        templates_(kernel.templates) {}

  const Shape& output_shape() const { return output_; }
  KernelFn function() const { return fn_; }
  const OpInstance& instance() const { return inst_; }
  // Per conv statement, the template that lowered it ("blocked oc_v=4 oh_t=1 ow_t=6", "gemm").
  const std::vector<std::string>& templates() const { return templates_; }
  // Parameter i as the kernel reads it (packed and in its layout).
  std::vector<float> pack_param(size_t i, const Tensor& param) const;
  const ir::Layout& layout_of(size_t arg) const;  // input i, or the output at inputs().size()
  BoundOp bind(const std::vector<const Tensor*>& inputs,
               const std::vector<const Tensor*>& params) const;
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
  std::vector<ir::Buffer> args_;
  std::vector<ParamPacking> packing_;
  std::vector<std::string> templates_;
  void check(const std::vector<const Tensor*>& inputs,
             const std::vector<const Tensor*>& params) const;
};

// Every instance lowered; identical kernels (repeated blocks of a network) are lowered once and
// shared. What compile_ops compiles, and what `nasx export --lib` writes (runtime/export_library).
struct LoweredOps {
  std::vector<LoweredKernel> kernels;  // the distinct kernels, named nasx_op0, nasx_op1, ...
  std::vector<size_t> kernel_of;       // per instance, its kernel in `kernels`
  std::vector<Shape> outputs;          // per instance, its output shape
};
LoweredOps lower_ops(const std::vector<OpInstance>& ops);

// Kernels per shared library (or per generated source file of an export): one compiler per
// chunk, chunks compiled concurrently. Chunks of kernel indices [first, second).
inline constexpr size_t kKernelsPerLibrary = 24;
std::vector<std::pair<size_t, size_t>> kernel_chunks(size_t kernels);
// The kernels compiled that way: kernel k is in module k / kKernelsPerLibrary.
std::vector<std::shared_ptr<CompiledModule>> compile_chunks(
    const std::vector<LoweredKernel>& kernels);

std::vector<CompiledOp> compile_ops(const std::vector<OpInstance>& ops);

// Threads the generated kernels run on: NASX_NUM_THREADS, else OMP_NUM_THREADS, else every
// processor. Other OpenMP users in the process (LibTorch sets its own count on the calling
// thread when it initialises) must not change it, so every run claims it again:
// claim_kernel_threads() sets the calling thread's OpenMP thread count to kernel_threads().
int kernel_threads();
void claim_kernel_threads();
CompiledOp compile_op(const OpInstance& op);

}  // namespace nasx
