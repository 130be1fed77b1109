// nasx search: the main job. One pipeline, its phases in order (search.cpp reads top to bottom):
//   1. setup      check the output directory, refuse a different command line on an existing one
//   2. baseline   compile the untransformed network, time it end to end, time every kernel
//   3. space      candidate sequences per unit (space.h), shape-illegal ones dropped and counted
//   4. explore    per unit, most MACs first: judge candidates (legality.h) in order of estimated
//                 saving, bisecting towards the most aggressive legal one, then time the legal
//                 ones against the unit's baseline kernels in one worker run (evaluate.h)
//   5. assemble   the fastest legal candidate per unit, applied together, judged again at network
//                 scope; the least valuable choices are backed off (bisection) until it passes
//   6. verify     compile the result, check it against LibTorch, time it end to end against the
//                 baseline, interleaved, in the same run
//   7. report     arch.json, report.json, report.md and plots (report.h)
// Everything measured is journaled in the output directory as it is produced (verdicts.jsonl,
// records.jsonl, baseline.json), so a killed search resumes without repeating a legality check or
// a measurement. Deterministic for a seed up to timings; the budget bounds the exploration.
#pragma once

#include <string>

#include "search/rule.h"
#include "support/json.h"

namespace nasx {

struct SearchOptions {
  std::string model;  // zoo name or ARCH.json
  double width = 0;   // > 0: scale the base's channels (recorded in arch.json); 0: as given
  std::string out_dir = "nasx-search";
  double budget_s = 900;
  uint64_t seed = 0;
  std::string data = "fashion-mnist";
  int64_t batch = 64;                            // minibatch of the proxy
  LegalityRule rule = legality_rules().front();  // proxies, tau, samples, scope (rule.h)
  int max_len = 3;
  std::string layers = "*";
  // Legality checks per unit (rejections by shape do not count); 0: an equal share of the budget
  // left (2-12, from the measured cost of a check), so which candidates are judged then depends
  // on the machine's speed. A fixed number makes the judged set a function of the seed alone.
  int judges_per_unit = 0;
  int64_t infer_batch = 1;  // batch of the timed inference
  int final_repeat = 30;    // end-to-end timing rounds (baseline and result interleaved)

  Json identity() const;  // what must match to resume a directory (not the budget)
};

// Runs the search; returns the summary (also written as report.json). UserError for bad options
// or input, Interrupted on SIGINT/SIGTERM (the journal is kept: run again to resume).
Json run_search(const SearchOptions& options);

}  // namespace nasx
