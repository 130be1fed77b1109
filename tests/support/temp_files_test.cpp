// Temporary files never outlive their process: removed on SIGTERM/SIGINT, and swept later when a
// process was killed outright.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "support/file.h"
#include "support/interrupt.h"
#include "support/temp_files.h"

namespace nasx {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir() {
  fs::path d = fs::temp_directory_path() / ("nasx-temp-test-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

pid_t dead_pid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST(TempFiles, OrphansOfDeadProcessesAreSweptOthersKept) {
  fs::path d = fresh_dir();
  fs::path orphan = d / ("k.so.tmp." + std::to_string(dead_pid()) + ".0");
  fs::path mine = d / ("k.so.tmp." + std::to_string(getpid()) + ".0");
  fs::path live = d / ("k.so.tmp." + std::to_string(getppid()) + ".0");
  fs::path entry = d / "k.so";
  for (const fs::path& p : {orphan, mine, live, entry}) std::ofstream(p) << "x";
  EXPECT_EQ(remove_orphaned_temps(d), 1);
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(entry));
  fs::remove_all(d);
}

TEST(TempFiles, SigtermRemovesRegisteredFiles) {
  fs::path d = fresh_dir();
  fs::path tmp = d / "out.json.tmp.child";
  pid_t p = fork();
  if (p == 0) {
    install_cleanup_handlers();
    TempFile t(tmp.string());
    std::ofstream(tmp) << "half written";
    std::raise(SIGTERM);
    _exit(0);  // not reached
  }
  int status = 0;
  waitpid(p, &status, 0);
  // Every interrupted nasx command exits 130 with a message (before: killed by the signal, 143).
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130);
  EXPECT_FALSE(fs::exists(tmp));
  fs::remove_all(d);
}

TEST(TempFiles, AtomicWritesLeaveNoTemporaryFile) {
  fs::path d = fresh_dir();
  write_file_atomically((d / "a.txt").string(), "hello");
  int files = 0;
  for (const auto& e : fs::directory_iterator(d)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  fs::remove_all(d);
}

}  // namespace
}  // namespace nasx
