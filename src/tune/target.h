// What a measurement is valid for. A kernel's time depends on the CPU (model and the vector ISA
// the generator targets), the compiler, and the code generator; records made under another
// target are kept in the file but never used. Nothing else (paths, flags nobody changed) is part
// of the key, so records are not invalidated by incidental changes (TVM's target-string lesson).
#pragma once

#include <string>

#include "support/json.h"

namespace nasx {

// Bumped whenever generated code changes for the same operator: old records then stop matching.
inline constexpr const char* kGeneratorVersion = "nasx-gen-2";

struct Target {
  std::string cpu;        // /proc/cpuinfo's model name
  std::string isa;        // avx512f | avx2 | sse
  std::string compiler;   // the compiler's version line
  std::string generator;  // kGeneratorVersion
  int threads = 1;        // kernel threads

  std::string key() const;  // one string, equal for equal targets
  Json to_json() const;
};

Target detect_target();  // cached

}  // namespace nasx
