// Timing candidates where they differ from the baseline. A candidate network is folded and fused
// exactly as the runtime will execute it; the kernels it changes (the transformed layers and the
// consumers a bottleneck shrinks) are compared with the baseline's kernels of the same nodes.
// All candidates of one unit are measured in one worker run together with those baseline kernels
// (interleaved, through src/tune). Kernels already in the records (an identical layer elsewhere
// in the network, or an earlier run of this search) are not measured again; the baseline kernels
// are re-measured whenever something new is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/network.h"
#include "runtime/compiled_op.h"
#include "support/timing.h"
#include "tune/records.h"
#include "tune/worker.h"

namespace nasx {

// The kernels a network executes at this batch size (after folding and fusion), by node name.
std::map<std::string, OpInstance> executed_kernels(const Network& net, int64_t batch);

struct CandidateTiming {
  bool ok = false;
  std::string error;                 // when a kernel failed to compile, crashed or hung
  std::vector<std::string> kernels;  // executed nodes that differ from the baseline
  TimingStats baseline, candidate;   // sums over those kernels (median; min and max summed)
  // Per changed kernel: the baseline's median (0 for a node the baseline lacks) and the
  // candidate's, in ms (only when ok).
  std::map<std::string, std::pair<double, double>> per_kernel;
  bool shared = false;  // every record existed already (nothing re-measured)
  double saving_ms() const { return baseline.median_ms - candidate.median_ms; }
};

struct TimingJob {
  std::map<std::string, OpInstance> kernels;  // executed_kernels() of the candidate network
  std::string label;
  std::string fault;  // a fault injected on purpose (tests), see tune/worker.h
};

std::vector<CandidateTiming> time_candidates(const std::map<std::string, OpInstance>& baseline,
                                             const std::vector<TimingJob>& jobs,
                                             RecordStore& records, const WorkerOptions& options);

}  // namespace nasx
