// Temporary files in flight (kernel cache entries being compiled, files being written atomically)
// never outlive their process:
//  - while one exists it is registered; SIGINT or SIGTERM removes every registered file before
//    the process ends (support/interrupt.h installs the handlers), and
//  - a process killed outright (SIGKILL) leaves files named NAME.tmp.PID.*: the next process that
//    uses the directory removes those whose PID is gone, or that are older than a day.
#pragma once

#include <filesystem>
#include <string>

namespace nasx {

class TempFile {
 public:
  explicit TempFile(std::string path);  // registers; the file itself is created by the caller
  ~TempFile();                          // unregisters (and removes the file unless released)
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void release();  // the file was renamed into place: nothing to remove

 private:
  std::string path_;
  int slot_ = -1;
  bool released_ = false;
};

// "PATH.tmp.PID.N": the name every temporary file gets.
std::string temp_name_for(const std::string& path);

// Removes orphaned temporary files in `dir` (not recursive). Returns how many.
int remove_orphaned_temps(const std::filesystem::path& dir);

// Removes the orphaned temporary files of one path (PATH.tmp.PID.* of dead processes), as a
// write of PATH does first: a file killed mid-write never outlives the next write of it.
int remove_orphaned_temps_of(const std::string& path);

// For the signal handler: unlinks every registered file (async-signal-safe).
void remove_registered_temps() noexcept;

}  // namespace nasx
