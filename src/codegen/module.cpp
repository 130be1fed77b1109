#include "codegen/module.h"

#include "codegen/emit_cpp.h"

namespace nasx {

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
