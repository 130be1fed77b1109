// The toolchain: C++ source -> system compiler -> shared object -> dlopen.
//
// Configuration comes from the environment (TACO's habit): NASX_CXX, else CXX, else g++;
// NASX_CXXFLAGS replaces the optimisation flags; NASX_DEBUG=1 builds with -g -O0.
// Shared objects are cached under $XDG_CACHE_HOME/nasx (else ~/.cache/nasx), keyed by a hash of
// source + command + compiler version. An entry is written to a temporary file and renamed into
// place, so an interrupted or concurrent build never leaves a partial entry; each entry ends with
// a trailer holding a checksum of its bytes, and an entry that fails the check or fails to load is
// rebuilt. Libraries are opened with RTLD_NOW | RTLD_LOCAL.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "support/error.h"

namespace nasx {

// A compile failure: the message holds the full command line and the compiler's output.
class CompileError : public InternalError {
 public:
  using InternalError::InternalError;
};

struct ToolchainConfig {
  std::string cxx;
  std::string flags;
  std::filesystem::path cache_dir;
  static ToolchainConfig from_env();
};

class SharedLibrary {
 public:
  SharedLibrary(void* handle, std::filesystem::path path)
      : handle_(handle), path_(std::move(path)) {}
  ~SharedLibrary();
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;
  void* symbol(const std::string& name) const;  // InternalError when absent
  const std::filesystem::path& path() const { return path_; }

 private:
  void* handle_;
  std::filesystem::path path_;
};

enum class CacheOutcome { Hit, Miss, RebuiltCorrupt };

struct CompileResult {
  std::shared_ptr<SharedLibrary> library;
  CacheOutcome outcome = CacheOutcome::Miss;
  std::string key;
};

CompileResult compile_and_load(const std::string& source,
                               const ToolchainConfig& config = ToolchainConfig::from_env());

// Runs a shell command, capturing stdout and stderr together; returns its exit status (-1 when
// it did not exit). shell_quote makes one argument of any string, for such a command line.
int run_command(const std::string& cmd, std::string* output);
std::string shell_quote(const std::string& s);

// The compiler's version line (cached per compiler), part of every cache key.
std::string compiler_version(const std::string& cxx);

}  // namespace nasx
