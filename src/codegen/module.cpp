#include "codegen/module.h"

#include "codegen/emit_cpp.h"
#include "ir/equality.h"
#include "support/hash.h"
#include "support/tensor.h"

namespace nasx {

std::string kernel_key(const LoweredKernel& kernel, const ToolchainConfig& config) {
  Hasher h;
  h.add("args " + std::to_string(kernel.args.size()));
  for (const ir::Buffer& b : kernel.args) {
    std::string a = shape_string(b->shape) + " " + b->layout.to_string() + " " +
                    std::to_string(static_cast<int>(b->elem.kind)) + "x" +
                    std::to_string(b->elem.lanes) + " " + std::to_string(b->physical_size());
    h.add(a);
  }
  for (const ParamPacking& p : kernel.packing)
    h.add(std::string(p.block_diagonal ? "d " : "- ") + std::to_string(p.co_per_group) + " " +
          std::to_string(p.ci_per_group) + " " + std::to_string(p.span) + " " +
          std::to_string(p.lanes));
  for (const std::string& t : kernel.templates) h.add(t);
  h.add(ir::structural_hash(kernel.body, kernel.args));
  h.add(config.cxx).add(config.flags);
  return h.hex();
}

CompiledModule CompiledModule::build(const std::vector<LoweredKernel>& kernels,
                                     const ToolchainConfig& config) {
  CompileResult r = compile_and_load(emit_cpp_module(kernels), config);
  CompiledModule m;
  m.library_ = r.library;
  m.outcome_ = r.outcome;
  for (const LoweredKernel& k : kernels)
    m.functions_[k.name] = reinterpret_cast<KernelFn>(r.library->symbol(k.name));
  return m;
}

KernelFn CompiledModule::function(const std::string& name) const {
  auto it = functions_.find(name);
  if (it == functions_.end()) internal_error("no kernel ", name, " in this module");
  return it->second;
}

}  // namespace nasx
