// The vector instruction set generated kernels target, detected from the CPU at run time:
// AVX-512 (16 float lanes) when the CPU has it, else AVX2 with FMA (8 lanes), else none (the
// blocked templates are not used). NASX_ISA=avx2 forces the AVX2 path on an AVX-512 machine, so
// it can be tested and benchmarked there; NASX_ISA=none turns the blocked templates off.
#pragma once

#include <cstdint>
#include <string>

namespace nasx {

struct Isa {
  std::string name;       // "avx512f", "avx2" or "none"
  int lanes = 0;          // floats per vector register; 0 for none
  int registers = 0;      // vector registers (32 on AVX-512, 16 on AVX2)
  std::string cxx_flags;  // added to the compiler's flags (-mno-avx512f when forced down)
  // Per-core L1 data cache and L2 (sysfs; 32 KiB and 1 MiB when unknown): the knobs' budgets.
  int64_t l1_bytes = 32 << 10, l2_bytes = 1 << 20;
};

const Isa& target_isa();

// This machine's physical memory in bytes (sysconf), the bound on what one network may allocate.
int64_t physical_memory_bytes();

}  // namespace nasx
