// Leveled logging to stderr. The level comes from NASX_LOG (error|warn|info|debug), default warn.
#pragma once

#include <string_view>

#include "support/error.h"

namespace nasx {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

LogLevel log_level();
void set_log_level(LogLevel level);
void log_message(LogLevel level, std::string_view message);

template <typename... Args>
void log(LogLevel level, const Args&... args) {
  if (level <= log_level()) log_message(level, detail::concat(args...));
}

}  // namespace nasx
