#include "support/progress.h"

#include <unistd.h>

#include <cstdio>

#include "support/log.h"

namespace nasx {

std::string format_duration(double s) {
  char buf[32];
  if (s < 0) s = 0;
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, int(s) % 3600 / 60);
  }
  return buf;
}

Progress::Progress(std::string phase, int64_t total)
    : phase_(std::move(phase)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (!finished_ && drawn_ && tty_) std::fputc('\n', stderr);
}

void Progress::step(const std::string& note, int64_t n) {
  done_ += n;
  draw(note, false);
}

void Progress::finish(const std::string& note) {
  draw(note, true);
  if (tty_ && drawn_) std::fputc('\n', stderr);
  finished_ = true;
}

void Progress::draw(const std::string& note, bool force) {
  if (log_level() < LogLevel::Warn) return;
  auto now = std::chrono::steady_clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (!force && since_draw < (tty_ ? 0.2 : 5.0)) return;
  last_draw_ = now;
  drawn_ = true;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string left;
  if (done_ > 0 && total_ > done_) {
    double eta = elapsed / double(done_) * double(total_ - done_);
    left = ", ~" + format_duration(eta) + " left";
  }
  char head[160];
  std::snprintf(head, sizeof head, "nasx: %s %lld/%lld, %s elapsed%s", phase_.c_str(),
                (long long)done_, (long long)total_, format_duration(elapsed).c_str(),
                left.c_str());
  std::string line = head;
  if (!note.empty()) line += "  " + note;
  if (tty_) {
    if (line.size() > 150) line = line.substr(0, 147) + "...";
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace nasx
