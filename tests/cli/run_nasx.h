// Runs the nasx binary as a user would, for the CLI tests: exit code and output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace nasx::testing {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

// `env` is prepended to the command line (e.g. "NASX_LOG=error ").
inline Result nasx(const std::string& args, const std::string& env = "") {
  std::string cmd = env + std::string(NASX_BINARY_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {
      WIFEXITED(status) ? WEXITSTATUS(status) : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1),
      out};
}

}  // namespace nasx::testing
