#include "support/cpu.h"

#include <cstdlib>

#include "support/error.h"

namespace nasx {

const Isa& target_isa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f");
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    std::string want = std::getenv("NASX_ISA") ? std::getenv("NASX_ISA") : "";
    Isa none{"none", 0, 0, avx512 ? "-mno-avx512f" : ""};
    Isa down{"avx2", 8, 16, avx512 ? "-mno-avx512f" : ""};
    if (want == "none") return none;
    if (want == "avx2") {
      NASX_USER_CHECK(avx2, "NASX_ISA=avx2: this CPU has no AVX2 with FMA");
      return down;
    }
    if (want == "avx512f" || want == "avx512") {
      NASX_USER_CHECK(avx512, "NASX_ISA=avx512f: this CPU has no AVX-512");
      return Isa{"avx512f", 16, 32, ""};
    }
    NASX_USER_CHECK(want.empty(), "NASX_ISA must be avx512f, avx2 or none, not '", want, "'");
    if (avx512) return Isa{"avx512f", 16, 32, ""};
    if (avx2) return down;
    return none;
  }();
  return isa;
}

}  // namespace nasx
