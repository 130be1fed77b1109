// Compiles lowered kernels into one shared library and hands back their entry points.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "codegen/toolchain.h"
#include "lower/kernel.h"

namespace nasx {

using KernelFn = void (*)(float* const* args);

// A kernel's identity, the one notion of "the same kernel" in nasx: a hash of what decides the
// machine code and how its arguments are laid out: the arguments (shape, type, layout), the
// weight packing, the templates with their knobs, the body up to renaming (ir::structural_hash),
// and the compiler with its flags (a NASX_DEBUG=1 -O0 kernel is another kernel). The name is not
// part of it. Lowering de-duplicates by it, tuning records are filed under it, and the search
// shares timings by it (runtime/compiled_op.h: kernel_key of an operator instance).
std::string kernel_key(const LoweredKernel& kernel,
                       const ToolchainConfig& config = ToolchainConfig::from_env());

class CompiledModule {
 public:
  static CompiledModule build(const std::vector<LoweredKernel>& kernels,
                              const ToolchainConfig& config = ToolchainConfig::from_env());
  KernelFn function(const std::string& name) const;
  CacheOutcome outcome() const { return outcome_; }
  // The cached shared object, for processes that load it themselves (the measurement worker).
  std::string library_path() const { return library_->path().string(); }

 private:
  std::shared_ptr<SharedLibrary> library_;
  std::map<std::string, KernelFn> functions_;
  CacheOutcome outcome_ = CacheOutcome::Miss;
};

}  // namespace nasx
