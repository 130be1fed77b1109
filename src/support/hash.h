// Content hashing for cache keys: 128 bits from two independent FNV-1a 64 streams, printed as hex.
// Not cryptographic; collisions between honest inputs are negligible at this width.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nasx {

class Hasher {
 public:
  Hasher& add(std::string_view bytes);
  std::string hex() const;
  uint64_t low() const { return a_; }

 private:
  uint64_t a_ = 0xcbf29ce484222325ull;
  uint64_t b_ = 0x84222325cbf29ce4ull;
};

inline std::string content_hash(std::string_view bytes) {
  return Hasher().add(bytes).hex();
}

}  // namespace nasx
