#include "support/log.h"

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace nasx {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("NASX_LOG");
  if (!env) return LogLevel::Warn;
  std::string s(env);
  if (s == "error") return LogLevel::Error;
  if (s == "info") return LogLevel::Info;
  if (s == "debug") return LogLevel::Debug;
  return LogLevel::Warn;
}

LogLevel& current_level() {
  static LogLevel level = level_from_env();
  return level;
}

}  // namespace

LogLevel log_level() {
  return current_level();
}
void set_log_level(LogLevel level) {
  current_level() = level;
}

void log_message(LogLevel level, std::string_view message) {
  static const char* names[] = {"error", "warn", "info", "debug"};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "nasx [" << names[static_cast<int>(level)] << "] " << message << "\n";
}

}  // namespace nasx
