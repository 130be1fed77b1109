#include "tune/target.h"

#include <fstream>

#include "codegen/toolchain.h"
#include "runtime/compiled_op.h"
#include "support/cpu.h"
#include "support/text.h"

namespace nasx {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  return "unknown cpu";
}

}  // namespace

std::string Target::key() const {
  return cpu + " | " + isa + " | " + compiler + " | " + generator + " | " +
         std::to_string(threads) + " threads";
}

Json Target::to_json() const {
  return Json{{"cpu", cpu},
              {"isa", isa},
              {"compiler", compiler},
              {"generator", generator},
              {"threads", threads}};
}

Target detect_target() {
  static const Target t = [] {
    ToolchainConfig config = ToolchainConfig::from_env();
    return Target{cpu_model(), target_isa().name, compiler_version(config.cxx), kGeneratorVersion,
                  kernel_threads()};
  }();
  return t;
}

}  // namespace nasx
