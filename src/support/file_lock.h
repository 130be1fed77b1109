// One writer per journal: an exclusive advisory lock (flock) on a lock file, held for the
// lifetime of the value. The kernel releases it when the process ends in any way (killed with
// SIGKILL included), so a crashed run never leaves it stuck; a second process asking for it is
// refused at once with a UserError naming the holder's pid.
#pragma once

#include <string>

namespace nasx {

class FileLock {
 public:
  FileLock() = default;
  // Locks `path` (created if missing). `what` names the thing protected in the message:
  // "the search folder X is in use by another nasx process (pid N); ...".
  FileLock(const std::string& path, const std::string& what);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace nasx
