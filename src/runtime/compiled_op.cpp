#include "runtime/compiled_op.h"

#include "lower/pipeline.h"
#include "support/error.h"

namespace nasx {

void CompiledOp::run(const std::vector<const Tensor*>& inputs,
                     const std::vector<const Tensor*>& params, Tensor& out) const {
  std::vector<ParamSpec> specs = param_specs(inst_.op);
  NASX_USER_CHECK(inputs.size() == inst_.inputs.size(), op_name(inst_.op), ": expected ",
                  inst_.inputs.size(), " inputs, got ", inputs.size());
  NASX_USER_CHECK(params.size() == specs.size(), op_name(inst_.op), ": expected ", specs.size(),
                  " parameter tensors, got ", params.size());
  std::vector<float*> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NASX_USER_CHECK(inputs[i]->shape == inst_.inputs[i], op_name(inst_.op), ": input ", i,
                    " has shape ", shape_string(inputs[i]->shape), ", compiled for ",
                    shape_string(inst_.inputs[i]));
    args.push_back(const_cast<float*>(inputs[i]->data.data()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    NASX_USER_CHECK(params[i]->shape == specs[i].shape, op_name(inst_.op), ": parameter ",
                    specs[i].name, " has shape ", shape_string(params[i]->shape), ", expected ",
                    shape_string(specs[i].shape));
    args.push_back(const_cast<float*>(params[i]->data.data()));
  }
  if (out.shape != output_) out = Tensor(output_);
  args.push_back(out.data.data());
  fn_(args.data());
}

Tensor CompiledOp::run(const std::vector<const Tensor*>& inputs,
                       const std::vector<const Tensor*>& params) const {
  Tensor out(output_);
  run(inputs, params, out);
  return out;
}

std::vector<CompiledOp> compile_ops(const std::vector<OpInstance>& ops) {
  std::vector<LoweredKernel> kernels;
  std::vector<Shape> outputs;
  for (size_t i = 0; i < ops.size(); ++i) {
    outputs.push_back(infer_shape(ops[i].op, ops[i].inputs));
    kernels.push_back(lower(ops[i].op, ops[i].inputs, "nasx_op" + std::to_string(i)));
  }
  auto module = std::make_shared<CompiledModule>(CompiledModule::build(kernels));
  std::vector<CompiledOp> out;
  for (size_t i = 0; i < ops.size(); ++i)
    out.emplace_back(ops[i], outputs[i], module->function(kernels[i].name), module);
  return out;
}

CompiledOp compile_op(const OpInstance& op) { return compile_ops({op}).front(); }

}  // namespace nasx
