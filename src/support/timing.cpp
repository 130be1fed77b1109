#include "support/timing.h"

#include <algorithm>
#include <chrono>

#include "support/error.h"

namespace nasx {

TimingStats summarize(std::vector<double> samples) {
  NASX_ASSERT(!samples.empty());
  std::sort(samples.begin(), samples.end());
  TimingStats s;
  size_t n = samples.size();
  s.median_ms = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  s.min_ms = samples.front();
  s.max_ms = samples.back();
  s.repeats = static_cast<int>(n);
  return s;
}

TimingStats measure(const std::function<void()>& fn, int warmup, int repeat) {
  NASX_ASSERT(repeat > 0);
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> samples;
  samples.reserve(repeat);
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return summarize(std::move(samples));
}

}  // namespace nasx
