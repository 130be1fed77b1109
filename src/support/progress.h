// Progress of long work on stderr: the phase, done/total, elapsed and time left. On a terminal the
// line is redrawn in place; otherwise (logs, CI) a line is printed at most every few seconds and
// at the end of each phase. Silent with NASX_LOG=error.
#pragma once

#include <chrono>
#include <string>

namespace nasx {

class Progress {
 public:
  Progress(std::string phase, int64_t total);
  ~Progress();
  void set_total(int64_t total) { total_ = total; }
  void step(const std::string& note = "", int64_t n = 1);  // n more done
  void finish(const std::string& note = "");

 private:
  void draw(const std::string& note, bool force);
  std::string phase_;
  int64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_, finished_ = false, drawn_ = false;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace nasx
