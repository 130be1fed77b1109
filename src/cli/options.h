// Numeric options are checked on their text, before CLI11 converts them: nothing wraps around
// (a negative seed into 2^64-1) or is truncated silently (1.5 into 1). A failed check is a clear
// one-line error with exit code 2.
#pragma once

#include <CLI/CLI.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>

#include "support/error.h"

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

// A finite real number in (lo, hi] (lo_open) or [lo, hi].
inline CLI::Validator number_in(double lo, double hi, bool lo_open = false) {
  std::string range =
      (lo_open ? "(" : "[") + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, lo_open, range](std::string& text) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !std::isfinite(v))
          return "'" + text + "' is not a finite number";
        if (v < lo || (lo_open && v == lo) || v > hi) return text + " is out of range " + range;
        return "";
      },
      "NUMBER in " + range);
}

// --width: the channel scale of a zoo model (or of an ARCH.json's base).
inline constexpr double kMaxWidth = 16;
inline CLI::Option* add_width_option(CLI::App* c, double& width) {
  return c->add_option("--width", width, "scale every channel count (default 1)")
      ->check(number_in(0, kMaxWidth, true));
}

// "15m", "90s", "1h", "2m30s", "1h30m", "1.5m" or plain seconds: decimal numbers only (no sign,
// exponent or hex: "1e3s" and "0x10s" are refused), each unit at most once and in the order h, m,
// s ("1m1m" and "30s1m" are refused).
inline double parse_duration(const std::string& text) {
  const std::string examples = "' (examples: 15m, 90s, 1h, 2m30s)";
  double total = 0;
  size_t i = 0;
  int last_unit = 4;  // h = 3, m = 2, s = 1: strictly decreasing
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    }
    std::string number = text.substr(start, i - start);
    NASX_USER_CHECK(!number.empty() && number != "." && number.size() <= 12,
                    "--budget: cannot read '", text, examples);
    double v = std::stod(number);
    double unit = 1;
    if (i < text.size()) {
      char u = text[i++];
      NASX_USER_CHECK(u == 's' || u == 'm' || u == 'h', "--budget: unknown unit '",
                      std::string(1, u), "' in '", text, "' (use s, m or h)");
      int rank = u == 'h' ? 3 : u == 'm' ? 2 : 1;
      NASX_USER_CHECK(rank < last_unit, "--budget: cannot read '", text,
                      "': each unit once, in the order h, m, s", examples);
      last_unit = rank;
      unit = u == 'h' ? 3600 : u == 'm' ? 60 : 1;
    } else {
      NASX_USER_CHECK(start == 0, "--budget: cannot read '", text, "': a number without its unit",
                      examples);
    }
    total += v * unit;
  }
  NASX_USER_CHECK(!text.empty() && total > 0, "--budget must be positive, got '", text, "'");
  NASX_USER_CHECK(total <= 7 * 24 * 3600, "--budget is limited to a week, got '", text, "'");
  return total;
}

inline constexpr int64_t kMaxSeed = INT64_MAX;
inline constexpr int64_t kMaxBatch = 4096;

}  // namespace nasx::cli
