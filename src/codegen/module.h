// Compiles lowered kernels into one shared library and hands back their entry points.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "codegen/toolchain.h"
#include "lower/kernel.h"

namespace nasx {

using KernelFn = void (*)(float* const* args);

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
