// Numeric options are checked on their text, before CLI11 converts them: nothing wraps around
// (a negative seed into 2^64-1) or is truncated silently (1.5 into 1). A failed check is a clear
// one-line error with exit code 2.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace nasx::cli {

inline CLI::Validator integer_in(int64_t lo, int64_t hi) {
  std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(text, &used);
        } catch (const std::out_of_range&) {
          return "'" + text + "' is out of range " + range;
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size()) return "'" + text + "' is not an integer";
        if (v < lo || v > hi) return text + " is out of range " + range;
        return "";
      },
      "INT in " + range);
}

inline constexpr int64_t kMaxSeed = INT64_MAX;
inline constexpr int64_t kMaxBatch = 4096;

}  // namespace nasx::cli
