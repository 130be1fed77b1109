// nasx search: the main job. One pipeline of typed phases (search.cpp reads top to bottom):
//   1. setup      check the output directory, refuse a different command line on an existing one
//   2. baseline   compile the untransformed network, time it end to end, time every kernel
//   3. space      candidate sequences per unit (space.h), shape-illegal ones dropped and counted
//   4. explore    coarse to fine, in context (explore.h): network-wide moves, stage-wide moves,
//                 then per-unit refinement; each move timed, then judged on the network with the
//                 choices accepted so far, accepted only when that network stays legal
//   5. assemble   a guard: the explored network judged once more (a cached verdict); only if it
//                 failed would the latest choices be backed off, and the report says so
//   6. verify     compile the result, check it against LibTorch, time it end to end against the
//                 baseline, interleaved, in the same run
//   7. report     arch.json, and the SearchReport (report.h): report.json, report.md, plots
// Everything measured is journaled in the output directory as it is produced (verdicts.jsonl,
// records.jsonl, baseline.json), so a killed search resumes without repeating a legality check or
// a measurement. Decisions are a function of the options, the seed and the measurements: with a
// fixed number of judges per unit, a budget that does not bind and the same kernel records, the
// same seed gives the same network.
#pragma once

#include <string>

#include "support/file_lock.h"

#include "search/explore.h"
#include "search/report.h"
#include "search/rule.h"
#include "support/json.h"

namespace nasx {

struct SearchOptions {
  std::string model;  // zoo name, .onnx file or ARCH.json
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
  int64_t infer_batch = 1;       // batch of the timed inference
  int final_repeat = 30;         // end-to-end timing rounds (baseline and result interleaved)
  bool continue_search = false;  // a finished folder: explore further with a fresh budget
  SearchFaults faults;           // injected on purpose by the tests (not part of the identity)

  Json identity() const;  // what must match to resume a directory (not the budget)
};

// A folder whose search finished (finished.json, written last) answers at once: its report is
// read back (from_finished set) and nothing runs, unless continue_search asks to explore further
// with a fresh budget (the report then counts the runs and their time). An interrupted search,
// with no finished.json, resumes from its journal.
// Runs the search; returns its report (also written as report.json). UserError for bad options
// or input, Interrupted on SIGINT/SIGTERM (the journal is kept: run again to resume).
SearchReport run_search(const SearchOptions& options);

// The lock that keeps a second search (or `search --verify`) off a folder in use: DIR/.nasx-lock,
// held while the value lives (support/file_lock.h). UserError when another process holds it.
FileLock lock_search_folder(const std::string& dir);

}  // namespace nasx
