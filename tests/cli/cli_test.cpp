// The nasx command as a user runs it: help, version, conv --check, and bad input (a clear one-line
// message and exit code 2, never a crash).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/json.h"

namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result nasx(const std::string& args) {
  std::string cmd = std::string(NASX_BINARY_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(Cli, HelpAndVersion) {
  Result help = nasx("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("conv"), std::string::npos) << help.out;
  Result version = nasx("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out.rfind("nasx ", 0), 0u) << version.out;
  EXPECT_EQ(nasx("conv --help").code, 0);
}

TEST(Cli, ConvCheckPasses) {
  Result r = nasx(
      "conv --in 16,13,13 --out 32 --kernel 3 --pad 1 --stride 2 --groups 2 "
      "--batch 2 --bias --check --repeat 2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("max_rel_err"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median"), std::string::npos) << r.out;
}

TEST(Cli, ConvJson) {
  Result r =
      nasx("conv --in 8,7,7 --out 8 --kernel 3 --dilation 2 --pad 2 --check --json --repeat 2");
  ASSERT_EQ(r.code, 0) << r.out;
  nasx::Json j = nasx::Json::parse(r.out);
  EXPECT_LE(j["max_rel_err"].get<double>(), 1e-4);
  EXPECT_EQ(j["check"], "pass");
  EXPECT_GT(j["median_ms"].get<double>(), 0);
  EXPECT_EQ(j["params"], 8 * 8 * 9);
}

void expect_user_error(const std::string& args, const std::string& fragment) {
  Result r = nasx(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << args << "\n" << r.out;
  EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
}

TEST(Cli, BadInputIsAClearUserError) {
  expect_user_error("conv --in 8,4,4 --out 8 --kernel 7 --check", "larger than the padded input");
  expect_user_error("conv --in 6,8,8 --out 8 --kernel 3 --groups 4 --check", "must divide");
  expect_user_error("conv --in 8,8 --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in a,b,c --out 8 --kernel 3", "C,H,W");
  expect_user_error("conv --in 8,8,8 --out 0 --kernel 3", "output channels must be positive");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel -3", "kernel must be positive");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel 3 --stride 0", "stride must be positive");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel 3 --batch 0", "--batch must be positive");
  expect_user_error("conv --in 8,8,8 --out 8", "--kernel");
  expect_user_error("conv --in 8,8,8 --out 8 --kernel x", "--kernel");
  expect_user_error("frobnicate", "unknown command 'frobnicate'");
  expect_user_error("", "A subcommand is required");
}

}  // namespace
