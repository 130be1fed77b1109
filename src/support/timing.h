// Wall-clock measurement as PERFORMANCE.md asks: warm up, repeat, report median and spread.
#pragma once

#include <functional>
#include <vector>

namespace nasx {

struct TimingStats {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int repeats = 0;
};

TimingStats summarize(std::vector<double> samples_ms);

// Runs fn `warmup` times untimed, then `repeat` times timed.
TimingStats measure(const std::function<void()>& fn, int warmup, int repeat);

}  // namespace nasx
