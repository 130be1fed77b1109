// One writer per journal (support/file_lock): a second holder is refused with the first one's
// pid, and a holder killed with SIGKILL leaves nothing stuck.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/error.h"
#include "support/file_lock.h"

namespace nasx {
namespace {

TEST(FileLock, SecondHolderRefusedAndAKilledHolderLeavesNothingStuck) {
  std::string path = (std::filesystem::temp_directory_path() / "nasx_file_lock_test").string();
  std::filesystem::remove(path);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FileLock held(path, "the thing");
    char c = 1;
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  try {
    FileLock second(path, "the thing");
    ADD_FAILURE() << "a second holder was let in";
  } catch (const UserError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("the thing is in use by another nasx process (pid " + std::to_string(child)),
              std::string::npos)
        << m;
  }
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  FileLock mine(path, "the thing");
  EXPECT_TRUE(mine.held());
  FileLock moved = std::move(mine);
  EXPECT_TRUE(moved.held());
  EXPECT_FALSE(mine.held());
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace nasx
