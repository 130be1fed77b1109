#include "support/hash.h"

#include <cstdio>

namespace nasx {

Hasher& Hasher::add(std::string_view bytes) {
  constexpr uint64_t prime = 0x100000001b3ull;
  for (unsigned char c : bytes) {
    a_ = (a_ ^ c) * prime;
    b_ = (b_ ^ (c ^ 0x5a)) * prime;
    b_ ^= b_ >> 29;
  }
  // Separate successive add() calls so ("ab","c") and ("a","bc") differ.
  a_ = (a_ ^ 0xff) * prime;
  b_ = (b_ ^ 0xfe) * prime;
  return *this;
}

std::string Hasher::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a_),
                static_cast<unsigned long long>(b_));
  return buf;
}

}  // namespace nasx
