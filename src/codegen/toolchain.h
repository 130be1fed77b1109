// The toolchain: C++ source -> system compiler -> shared object -> dlopen.
//
// Configuration comes from the environment (TACO's habit): NASX_CXX, else CXX, else g++;
// NASX_CXXFLAGS replaces the optimisation flags; NASX_DEBUG=1 builds with -g -O0. Both are split
// into words at white space and the compiler is run directly, never through a shell: no word of
// them is ever interpreted as a command. A compile that fails with flags or a compiler from the
// environment is tried once more on an empty translation unit: when that fails too, the
// environment is the cause and the error is the user's (exit 2) naming the variables.
// Shared objects are cached under $XDG_CACHE_HOME/nasx (else ~/.cache/nasx), keyed by a hash of
// source + command + compiler version. An entry is written to a temporary file and renamed into
// place, so an interrupted or concurrent build never leaves a partial entry; each entry ends with
// a trailer holding a checksum of its bytes, and an entry that fails the check or fails to load is
// rebuilt. Libraries are opened with RTLD_NOW | RTLD_LOCAL.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/error.h"

namespace nasx {

// A compile failure: the message holds the full command line and the compiler's output.
class CompileError : public InternalError {
 public:
  using InternalError::InternalError;
};

struct ToolchainConfig {
  std::string cxx;    // the compiler (words: "ccache g++" is two)
  std::string flags;  // every flag, as one string (part of cache keys and reports)
  std::filesystem::path cache_dir;
  static ToolchainConfig from_env();
  // The compiler and its flags as the words of one command, `extra` after them.
  std::vector<std::string> command(const std::vector<std::string>& extra = {}) const;
};

// A failed compile run with `config`: when the compiler or flags come from the environment
// (NASX_CXX, CXX, NASX_CXXFLAGS) and they cannot compile an empty translation unit either, a
// UserError naming them and the compiler's first lines; otherwise nothing (the caller's own
// CompileError stands).
void blame_environment_for_compile_failure(const ToolchainConfig& config);

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

// The kernel cache directory exists (or is created) and is writable; else a UserError naming it.
void check_kernel_cache(const ToolchainConfig& config);

CompileResult compile_and_load(const std::string& source,
                               const ToolchainConfig& config = ToolchainConfig::from_env());

// Runs a program (argv[0], looked up in PATH) with the arguments argv[1..] in directory `cwd`
// (empty: this one), capturing stdout and stderr together; no shell is involved. Returns its exit
// status; -1 when it did not exit (a signal); 127 when it could not be started, with the reason
// in `output`.
int run_process(const std::vector<std::string>& argv, std::string* output,
                const std::filesystem::path& cwd = {});
// The words of a command as one line a shell would read back the same (for messages and logs).
std::string command_line(const std::vector<std::string>& argv);
std::string shell_quote(const std::string& s);

// The compiler's version line (cached per compiler), part of every cache key.
std::string compiler_version(const std::string& cxx);

}  // namespace nasx
