// libFuzzer targets for nasx's parsers of user input (`make fuzz`, clang only): .npy, sequences,
// schedules, ARCH.json, gzip, IDX and CIFAR-10 files, ONNX models, torch.save state_dicts. One
// source, one target per parser, chosen by NASX_FUZZ_TARGET at compile time. A UserError is the
// expected answer to bad input; anything else escaping (an InternalError, another exception, a
// crash, a sanitizer report, a hang) is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "graph/arch.h"
#include "graph/onnx_import.h"
#include "graph/torch_save.h"
#include "support/dataset_files.h"
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
#elif NASX_FUZZ_TARGET == 5  // gzip, bounded (the IDX files are read through it)
  gunzip(input, "fuzz", size_t(1) << 20);
#elif NASX_FUZZ_TARGET == 6  // an IDX pair: 4 bytes (little-endian) give the images' length
  if (input.size() < 4) return;
  uint32_t n = uint8_t(input[0]) | uint32_t(uint8_t(input[1])) << 8 |
               uint32_t(uint8_t(input[2])) << 16 | uint32_t(uint8_t(input[3])) << 24;
  n %= uint32_t(input.size() - 3);
  LabelledImages d = parse_idx(input.substr(4, n), "images", input.substr(4 + n), "labels");
  if (d.pixels.size() != size_t(d.count) * 784 || d.labels.size() != size_t(d.count))
    internal_error("IDX sizes disagree");
#elif NASX_FUZZ_TARGET == 8  // ONNX models (read from a file, like the .npy reader)
  static const std::string path = "/tmp/nasx-fuzz-" + std::to_string(getpid()) + ".onnx";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(input.data(), 1, input.size(), f);
  std::fclose(f);
  Network net = import_onnx(path);
  net.infer_shapes(1);
#elif NASX_FUZZ_TARGET == 7  // CIFAR-10 binary batches
  LabelledImages d = parse_cifar(input, "fuzz");
  if (d.pixels.size() != size_t(d.count) * 3072 || d.labels.size() != size_t(d.count))
    internal_error("CIFAR sizes disagree");
#elif NASX_FUZZ_TARGET == 9  // torch.save state_dicts (zip archive and pickle)
  for (const auto& [key, t] : parse_torch_state_dict(input, "fuzz.pt"))
    if (static_cast<int64_t>(t.data.size()) != num_elements(t.shape))
      internal_error("state_dict tensor ", key, " has the wrong size");
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
