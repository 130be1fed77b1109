// Measuring kernels in an isolated worker process (nasx-worker), so that a kernel that crashes or
// hangs is recorded as failed and the caller goes on.
//
// The caller compiles the kernels into a shared library first; the worker dlopens it, gives each
// kernel argument buffers of the stated sizes filled with seeded random numbers, runs every kernel
// once (a crash or hang here is pinned on that kernel: it is marked failed and a fresh worker goes
// on with the next), then times all of them interleaved, round by round, so that drift of the
// machine falls on every kernel alike. Each sample runs a kernel enough times to last
// `min_sample_ms`; the result is the median of `repeat` samples with their spread.
// A kernel whose first run fails is pinned and skipped, and a fresh worker measures the others; a
// worker that dies later, while timing, fails the remaining kernels as `transient` (not their
// fault: they are not recorded). The worker dies with its parent (PR_SET_PDEATHSIG) and ignores
// Ctrl-C (the parent ends it), so a killed search leaves none behind and an interrupted one
// records no failure.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "support/timing.h"

namespace nasx {

struct KernelJob {
  std::string symbol;               // exported function: void f(float* const* args)
  std::vector<int64_t> arg_floats;  // size of each argument buffer, in floats
  std::string fault;                // test hook: "crash" or "hang" makes the worker fail here
};

struct WorkerOptions {
  double timeout_s = 20;  // for one kernel's first run; the timed rounds get timeout_s per kernel
  int warmup = 2;
  int repeat = 15;
  double min_sample_ms = 0.3;
};

struct JobResult {
  bool ok = false;
  std::string error;  // when failed: "crashed (signal 11)", "timed out after 20 s", ...
  TimingStats stats;
  bool transient = false;  // the worker died while timing: not this kernel's fault, retry later
};

// Results in job order. `on_result` (optional) sees each result as soon as it is known.
std::vector<JobResult> run_in_worker(
    const std::string& library, const std::vector<KernelJob>& jobs, const WorkerOptions& options,
    const std::function<void(size_t, const JobResult&)>& on_result = {});

// The worker executable: NASX_WORKER, else nasx-worker beside the running executable, else the
// one built with nasx. UserError when none exists.
std::string worker_path();

}  // namespace nasx
