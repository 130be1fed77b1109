// Number formatting shared by the commands and the search report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace nasx {

// printf-style formatting of one number, e.g. fmt(1.5, "%.2f").
inline std::string fmt(double v, const char* format = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 21282122 -> "21,282,122"
inline std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return v < 0 ? "-" + s : s;
}

}  // namespace nasx
