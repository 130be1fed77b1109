#include "runtime/compiled_op.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>

#include <omp.h>

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
  options.target = knob_target();
  return options;
}

namespace {

// What an instance lowers with, as text: the bucket of the memo below (instances in one bucket
// are then compared whole). The toolchain is in it because the key is.
std::string memo_bucket(const OpInstance& op, const ToolchainConfig& config) {
  std::string b = op_name(op.op) + "|";
  for (const Shape& s : op.inputs) b += shape_string(s) + ";";
  b += "|" + print_schedule(op.schedule) + "|";
  for (const ir::Layout& l : op.layouts) b += l.to_string() + ";";
  return b + "|" + knobs_to_string(op.knobs) + "|" + config.cxx + "|" + config.flags;
}

struct Memo {
  std::mutex mutex;
  std::map<std::string, std::vector<std::pair<OpInstance, std::shared_ptr<const IdentifiedKernel>>>>
      buckets;
  size_t entries = 0;
};

}  // namespace

std::shared_ptr<const IdentifiedKernel> identify(const OpInstance& op) {
  static Memo memo;
  ToolchainConfig config = ToolchainConfig::from_env();
  std::string bucket = memo_bucket(op, config);
  {
    std::lock_guard<std::mutex> lock(memo.mutex);
    for (const auto& [inst, kernel] : memo.buckets[bucket])
      if (inst.op == op.op && inst.inputs == op.inputs && inst.schedule == op.schedule &&
          inst.layouts == op.layouts && inst.knobs == op.knobs)
        return kernel;
  }
  auto k = std::make_shared<IdentifiedKernel>();
  k->kernel = lower(op.op, op.inputs, "nasx_kernel", lower_options(op));
  k->key = kernel_key(k->kernel, config);
  std::lock_guard<std::mutex> lock(memo.mutex);
  // A long search meets many thousands of instances; the memo is a cache, so it starts over
  // rather than grow without bound.
  if (memo.entries >= 4096) {
    memo.buckets.clear();
    memo.entries = 0;
  }
  memo.buckets[bucket].emplace_back(op, k);
  ++memo.entries;
  return k;
}

std::string kernel_key(const OpInstance& op) {
  return identify(op)->key;
}

KnobTarget knob_target() {
  const Isa& isa = target_isa();
  return KnobTarget{isa.lanes, isa.registers, isa.l1_bytes, isa.l2_bytes};
}

LoweredOps lower_ops(const std::vector<OpInstance>& ops) {
  // Instances with the same kernel (repeated blocks of a network) share one function.
  LoweredOps out;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < ops.size(); ++i) {
    out.outputs.push_back(infer_shape(ops[i].op, ops[i].inputs));
    std::shared_ptr<const IdentifiedKernel> k = identify(ops[i]);
    auto [it, fresh] = seen.emplace(k->key, out.kernels.size());
    if (fresh) {
      out.kernels.push_back(k->kernel);
      out.kernels.back().name = "nasx_op" + std::to_string(it->second);
    }
    out.kernel_of.push_back(it->second);
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> kernel_chunks(size_t kernels) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t lo = 0; lo < kernels; lo += kKernelsPerLibrary)
    out.push_back({lo, std::min(kernels, lo + kKernelsPerLibrary)});
  return out;
}

std::vector<std::shared_ptr<CompiledModule>> compile_chunks(
    const std::vector<LoweredKernel>& kernels) {
  std::vector<std::pair<size_t, size_t>> chunks = kernel_chunks(kernels.size());
  std::vector<std::shared_ptr<CompiledModule>> modules(chunks.size());
  parallel_for_each_job(chunks.size(), [&](size_t c) {
    std::vector<LoweredKernel> part(kernels.begin() + chunks[c].first,
                                    kernels.begin() + chunks[c].second);
    modules[c] = std::make_shared<CompiledModule>(CompiledModule::build(part));
  });
  return modules;
}

std::vector<CompiledOp> compile_ops(const std::vector<OpInstance>& ops) {
  LoweredOps lowered = lower_ops(ops);
  const std::vector<LoweredKernel>& kernels = lowered.kernels;
  std::vector<std::shared_ptr<CompiledModule>> modules = compile_chunks(kernels);

  std::vector<CompiledOp> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& module = modules[lowered.kernel_of[i] / kKernelsPerLibrary];
    const LoweredKernel& k = kernels[lowered.kernel_of[i]];
    out.emplace_back(ops[i], lowered.outputs[i], module->function(k.name), module, k);
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
