#include "support/cpu.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "support/error.h"

namespace nasx {
namespace {

// The data (or unified) cache of cpu0 at `level` from sysfs ("1024K"), or 0 when unknown.
int64_t cache_bytes(int wanted) {
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level(dir + "level"), size(dir + "size"), type(dir + "type");
    int l = 0;
    std::string text, kind;
    if (!(level >> l) || !(size >> text) || l != wanted || text.empty()) continue;
    if ((type >> kind) && kind == "Instruction") continue;
    int64_t v = std::atoll(text.c_str());
    if (text.back() == 'K') v <<= 10;
    if (text.back() == 'M') v <<= 20;
    if (v > 0) return v;
  }
  return 0;
}

Isa detect() {
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  std::string want = std::getenv("NASX_ISA") ? std::getenv("NASX_ISA") : "";
  Isa none{"none", 0, 0, avx512 ? "-mno-avx512f" : ""};
  Isa down{"avx2", 8, 16, avx512 ? "-mno-avx512f" : ""};
  Isa full{"avx512f", 16, 32, ""};
  if (want == "none") return none;
  if (want == "avx2") {
    NASX_USER_CHECK(avx2, "NASX_ISA=avx2: this CPU has no AVX2 with FMA");
    return down;
  }
  if (want == "avx512f" || want == "avx512") {
    NASX_USER_CHECK(avx512, "NASX_ISA=avx512f: this CPU has no AVX-512");
    return full;
  }
  NASX_USER_CHECK(want.empty(), "NASX_ISA must be avx512f, avx2 or none, not '", want, "'");
  if (avx512) return full;
  if (avx2) return down;
  return none;
}

}  // namespace

const Isa& target_isa() {
  static const Isa isa = [] {
    Isa i = detect();
    if (int64_t l1 = cache_bytes(1)) i.l1_bytes = l1;
    if (int64_t l2 = cache_bytes(2)) i.l2_bytes = l2;
    return i;
  }();
  return isa;
}

int64_t physical_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? int64_t(pages) * int64_t(size) : int64_t(1) << 40;
}

}  // namespace nasx
