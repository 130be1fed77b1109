// libFuzzer targets for nasx's parsers of user input (`make fuzz`, clang only). One source, one
// target per parser, chosen by NASX_FUZZ_TARGET at compile time. A UserError is the expected
// answer to bad input; anything else escaping (an InternalError, another exception, a crash,
// a sanitizer report, a hang) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "graph/arch.h"
#include "support/error.h"
#include "support/json.h"
#include "support/npy.h"
#include "transform/schedule.h"
#include "transform/sequence.h"

namespace {

void run(const std::string& input) {
  using namespace nasx;
#if NASX_FUZZ_TARGET == 1  // .npy reader (it reads files: the input goes through one)
  static const std::string path = "/tmp/nasx-fuzz-" + std::to_string(getpid()) + ".npy";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(input.data(), 1, input.size(), f);
  std::fclose(f);
  read_npy(path);
#elif NASX_FUZZ_TARGET == 2  // neural transformation sequences
  NeuralSequence s = parse_sequence(input);
  if (parse_sequence(print_sequence(s)) != s) internal_error("print/parse round trip differs");
#elif NASX_FUZZ_TARGET == 3  // schedules
  Schedule s = parse_schedule(input);
  if (print_schedule(parse_schedule(print_schedule(s))) != print_schedule(s))
    internal_error("print/parse round trip differs");
#elif NASX_FUZZ_TARGET == 4  // ARCH.json fields
  Json j;
  try {
    j = Json::parse(input);
  } catch (const Json::exception&) {
    return;  // Arch::read turns this into a UserError
  }
  Arch::from_json(j, "fuzz");
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    run(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const nasx::UserError&) {
  }
  return 0;
}
