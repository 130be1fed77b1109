#include "support/environment.h"

#include <cstdlib>

#include "support/error.h"
#include "support/text.h"

namespace nasx {
namespace {

bool one_of(const std::string& v, std::initializer_list<const char*> options) {
  for (const char* o : options)
    if (v == o) return true;
  return false;
}

// A thread count: a positive integer that is not absurd (libgomp starts that many threads).
constexpr long kMaxThreads = 1024;
bool thread_count(const std::string& v) {
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
    return false;
  long n = std::stol(v);
  return n >= 1 && n <= kMaxThreads;
}

// OMP_NUM_THREADS may be a list (one count per nesting level): each must be a count.
bool omp_thread_list(const std::string& v) {
  for (const std::string& count : split(v, ','))
    if (!thread_count(count)) return false;
  return true;
}

bool positive_integer(const std::string& v) {
  return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos &&
         std::stol(v) > 0;
}

bool has_words(const std::string& v) {
  return v.find_first_not_of(" \t\n") != std::string::npos;
}

bool anything(const std::string&) {
  return true;
}

}  // namespace

const std::vector<EnvironmentVariable>& environment_variables() {
  static const std::vector<EnvironmentVariable> table = {
      {"NASX_ISA", "avx512f, avx2 or none",
       [](const std::string& v) {
         return one_of(v, {"avx512f", "avx2", "none"});
       }},
      {"NASX_DEVICE", "cpu or cuda",
       [](const std::string& v) {
         return one_of(v, {"cpu", "cuda"});
       }},
      {"NASX_CXX", "a compiler command", has_words},
      {"CXX", "a compiler command", has_words},
      {"NASX_CXXFLAGS", "compiler flags (split at white space, never given to a shell)", anything},
      {"NASX_DEBUG", "0 or 1",
       [](const std::string& v) {
         return one_of(v, {"0", "1"});
       }},
      {"NASX_NUM_THREADS", "a thread count from 1 to 1024", thread_count},
      {"OMP_NUM_THREADS", "a thread count from 1 to 1024 (or a comma-separated list of them)",
       omp_thread_list},
      {"NASX_PRINT_IR", "0 or 1",
       [](const std::string& v) {
         return one_of(v, {"0", "1"});
       }},
      {"NASX_LOG", "error, warn, info or debug",
       [](const std::string& v) {
         return one_of(v, {"error", "warn", "info", "debug"});
       }},
      {"NASX_FUZZ_CASES", "a positive integer", positive_integer},
      {"NASX_WORKER", "the path of nasx-worker", anything},
      {"NASX_TEST_FAULT", "WORKER_FAULT:SEQUENCE (tests only)", anything},
      {"NASX_TEST_KILL_AFTER_VERDICTS", "a positive integer (tests only)", positive_integer},
      // XDG_CACHE_HOME: a relative path is ignored, as the XDG specification asks.
      {"XDG_CACHE_HOME", "a directory", anything},
  };
  return table;
}

void check_environment() {
  for (const EnvironmentVariable& e : environment_variables()) {
    const char* v = std::getenv(e.name);
    if (!v || !*v) continue;
    NASX_USER_CHECK(e.valid(v), "the environment variable ", e.name, "='", v,
                    "' is not valid: it must be ", e.accepted, " (or unset it)");
  }
}

}  // namespace nasx
