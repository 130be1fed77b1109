#include "runtime/compiled_op.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>

#include <omp.h>

#include "ir/printer.h"
#include "lower/pipeline.h"
#include "support/cpu.h"
#include "support/error.h"
#include "support/parallel.h"

namespace nasx {

void CompiledOp::check(const std::vector<const Tensor*>& inputs,
                       const std::vector<const Tensor*>& params) const {
  const std::vector<ParamSpec>& specs = params_;
  NASX_USER_CHECK(inputs.size() == inst_.inputs.size(), op_name(inst_.op), ": expected ",
                  inst_.inputs.size(), " inputs, got ", inputs.size());
  NASX_USER_CHECK(params.size() == specs.size(), op_name(inst_.op), ": expected ", specs.size(),
                  " parameter tensors, got ", params.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    NASX_USER_CHECK(inputs[i]->shape == inst_.inputs[i], op_name(inst_.op), ": input ", i,
                    " has shape ", shape_string(inputs[i]->shape), ", compiled for ",
                    shape_string(inst_.inputs[i]));
  for (size_t i = 0; i < params.size(); ++i)
    NASX_USER_CHECK(params[i]->shape == specs[i].shape, op_name(inst_.op), ": parameter ",
                    specs[i].name, " has shape ", shape_string(params[i]->shape), ", expected ",
                    shape_string(specs[i].shape));
}

const ir::Layout& CompiledOp::layout_of(size_t arg) const {
  static const ir::Layout plain;
  return inst_.layouts.empty() ? plain : inst_.layouts[arg];
}

std::vector<float> CompiledOp::pack_param(size_t i, const Tensor& param) const {
  return packing_[i].pack(param, args_[inst_.inputs.size() + i]);
}

BoundOp CompiledOp::bind(const std::vector<const Tensor*>& inputs,
                         const std::vector<const Tensor*>& params) const {
  check(inputs, params);
  BoundOp b;
  b.fn_ = fn_;
  for (size_t i = 0; i < inputs.size(); ++i)
    b.storage_.push_back(ir::to_physical(inputs[i]->data, inputs[i]->shape, layout_of(i)));
  for (size_t i = 0; i < params.size(); ++i) b.storage_.push_back(pack_param(i, *params[i]));
  b.output_layout_ = layout_of(inputs.size());
  b.output_shape_ = output_;
  b.storage_.emplace_back(b.output_layout_.physical_size(output_), 0.0f);
  for (auto& v : b.storage_) b.args_.push_back(v.data());
  return b;
}

void BoundOp::run() const {
  claim_kernel_threads();
  fn_(args_.data());
}

Tensor BoundOp::output() const {
  Tensor t(output_shape_);
  t.data = ir::from_physical(storage_.back().data(), output_shape_, output_layout_);
  return t;
}

void CompiledOp::run(const std::vector<const Tensor*>& inputs,
                     const std::vector<const Tensor*>& params, Tensor& out) const {
  BoundOp b = bind(inputs, params);
  b.run();
  out = b.output();
}

Tensor CompiledOp::run(const std::vector<const Tensor*>& inputs,
                       const std::vector<const Tensor*>& params) const {
  Tensor out(output_);
  run(inputs, params, out);
  return out;
}

LowerOptions lower_options(const OpInstance& op) {
  LowerOptions options;
  options.schedule = op.schedule;
  options.layouts = op.layouts;
  options.knobs = op.knobs;
  options.lanes = target_isa().lanes;
  options.registers = target_isa().registers;
  return options;
}

LoweredOps lower_ops(const std::vector<OpInstance>& ops) {
  // Instances whose kernels are identical (repeated blocks of a network) share one function.
  LoweredOps out;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < ops.size(); ++i) {
    out.outputs.push_back(infer_shape(ops[i].op, ops[i].inputs));
    LoweredKernel k = lower(ops[i].op, ops[i].inputs,
                            "nasx_op" + std::to_string(out.kernels.size()), lower_options(ops[i]));
    std::string key = std::to_string(k.args.size()) + "\n";
    for (const ir::Buffer& b : k.args)
      key += shape_string(b->shape) + " " + b->layout.to_string() + "\n";
    for (const ParamPacking& pk : k.packing) key += pk.block_diagonal ? "d" : "-";
    key += "\n" + ir::to_string(k.body);
    auto [it, fresh] = seen.emplace(key, out.kernels.size());
    if (fresh) out.kernels.push_back(std::move(k));
    out.kernel_of.push_back(it->second);
  }
  return out;
}

std::vector<CompiledOp> compile_ops(const std::vector<OpInstance>& ops) {
  LoweredOps lowered = lower_ops(ops);
  const std::vector<LoweredKernel>& kernels = lowered.kernels;
  const std::vector<size_t>& kernel_of = lowered.kernel_of;
  const std::vector<Shape>& outputs = lowered.outputs;
  // Chunks of kernels per shared library, compiled concurrently: one compiler per core.
  constexpr size_t kPerLibrary = 24;
  size_t chunks = (kernels.size() + kPerLibrary - 1) / kPerLibrary;
  std::vector<std::shared_ptr<CompiledModule>> modules(chunks);
  parallel_for_each_job(chunks, [&](size_t c) {
    size_t lo = c * kPerLibrary, hi = std::min(kernels.size(), lo + kPerLibrary);
    std::vector<LoweredKernel> part(kernels.begin() + lo, kernels.begin() + hi);
    modules[c] = std::make_shared<CompiledModule>(CompiledModule::build(part));
  });

  std::vector<CompiledOp> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& module = modules[kernel_of[i] / kPerLibrary];
    const LoweredKernel& k = kernels[kernel_of[i]];
    out.emplace_back(ops[i], outputs[i], module->function(k.name), module, k);
  }
  return out;
}

CompiledOp compile_op(const OpInstance& op) {
  return compile_ops({op}).front();
}

int kernel_threads() {
  static const int threads = [] {
    for (const char* name : {"NASX_NUM_THREADS", "OMP_NUM_THREADS"})
      if (const char* v = std::getenv(name); v && std::atoi(v) > 0) return std::atoi(v);
    return omp_get_num_procs();
  }();
  return threads;
}

void claim_kernel_threads() {
  omp_set_num_threads(kernel_threads());
}

}  // namespace nasx
