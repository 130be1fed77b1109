// The environment variables nasx reads, as one table, checked once when a command starts: a
// value nasx cannot use is the user's error (exit 2) naming the variable, before any work,
// rather than a value silently ignored or a crash later (OMP_NUM_THREADS=100000 made libgomp
// fail deep inside the first parallel region).
#pragma once

#include <string>
#include <vector>

namespace nasx {

struct EnvironmentVariable {
  const char* name;
  const char* accepted;  // what a valid value looks like, for the message
  bool (*valid)(const std::string& value);
};

// Every variable nasx reads (README "Environment" lists them for users).
const std::vector<EnvironmentVariable>& environment_variables();

// Checks each set, non-empty variable of the table; UserError at the first that is not valid.
void check_environment();

}  // namespace nasx
