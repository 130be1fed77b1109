// The search's report as a typed value. run_search returns it; report.json is its to_json();
// report.md, the plots, the CLI's --json summary and the tests read the struct (from_json reads
// report.json back, so a report round-trips). Files written (atomically, from the struct alone):
//   report.json, report.md  what was chosen, in which order, what each choice spent of the
//                           legality budget and saved in time; totals; end-to-end speedup;
//                           counts; time per phase
//   pareto.png              every timed candidate's estimated network latency against its
//                           parameters, legal (green) or illegal (red) under the rule in use, the
//                           Pareto front over the legal ones, the searched network on it
//   trajectory.png          network latency (estimated from kernels) against the rule's binding
//                           ratio as the choices accumulate, tau marked
//   speedup.png             per choice, baseline kernels over chosen kernels
// drawn with gnuplot (Debian's gnuplot-nox); without it the report says so.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/json.h"
#include "support/json_in.h"
#include "support/timing.h"
#include "torch/verify.h"

namespace nasx {

Json timing_json(const TimingStats& s);
TimingStats timing_from_json(const JsonIn& j);

// A verdict as the report shows it: rejected by shape, or the binding ratio and its spread.
struct VerdictSummary {
  bool judged = false;      // false: not judged (then everything below is unset)
  std::string reject_kind;  // set: the steps do not apply in the network as it stood
  std::string message;
  bool legal = false;
  std::string binding;                                        // "network", "snip:network", a block
  double mean = 0, min = 0, max = 0, margin = 0, spread = 0;  // NaN where not finite
  bool uncertain = false;
  Json to_json() const;
  static VerdictSummary from_json(const JsonIn& j);
};

struct TimingSummary {
  bool timed = false;
  bool ok = false;
  std::string error;                 // when a kernel failed to compile, crashed or hung
  std::vector<std::string> kernels;  // executed nodes that differ from the baseline
  TimingStats baseline, candidate;   // sums over those kernels
  bool shared = false;               // every record existed already
  double saving_ms() const { return baseline.median_ms - candidate.median_ms; }
  Json to_json() const;
  static TimingSummary from_json(const JsonIn& j);
};

// One candidate the search considered: a move (one sequence on one or more units).
struct TrialReport {
  std::string move;                 // "every layer*.*.conv1: group(4)", or the unit's name
  std::string level;                // "network", "stage" or "unit"
  std::vector<std::string> units;   // the units it transforms
  std::vector<std::string> layers;  // their layers
  std::string sequence;
  int64_t macs_delta = 0, params_delta = 0;  // against the baseline network
  double ratio_before = 1;                   // binding ratio of the network as it stood
  double estimated_spend = 0;                // what the search expected it to spend
  TimingSummary timing;                      // its kernels against the baseline's
  VerdictSummary verdict;                    // in context: accepted choices plus this move
  int accepted = -1;                         // order of acceptance (0 first), -1: not accepted
  Json to_json() const;
  static TrialReport from_json(const JsonIn& j);
};

// One accepted choice, in the order accepted.
struct ChoiceReport {
  size_t trial = 0;         // index into trials
  double ratio_before = 1;  // the network's binding ratio before it
  double ratio_after = 1;   // and with it
  double saving_ms = 0;     // kernel time it saves against what the units ran before
  double network_ms = 0;    // estimated network latency with it (baseline minus savings so far)
  bool superseded = false;  // a later choice replaced it on every unit it held
  Json to_json() const;
  static ChoiceReport from_json(const JsonIn& j);
};

struct UnitReport {
  std::string name;
  std::vector<std::string> layers;
  bool joint = false;
  int64_t macs = 0, params = 0;
  double baseline_kernels_ms = 0;
  int64_t candidates = 0;
  std::string chosen;    // the final sequence on this unit, empty when unchanged
  bool covered = false;  // judged in at least one move
  Json to_json() const;
  static UnitReport from_json(const JsonIn& j);
};

struct NetworkSummary {
  int64_t params = 0, macs = 0;
  TimingStats latency;
  double max_rel_err_vs_libtorch = 0;  // the result only
  Json to_json() const;
  static NetworkSummary from_json(const JsonIn& j);
};

struct SearchCounts {
  int64_t units = 0, generated = 0, duplicates = 0, candidates = 0, moves = 0;
  int64_t rejected_by_shape = 0;  // by the space, and moves that did not apply in context
  std::map<std::string, int64_t> rejected_by_kind;
  int64_t judged = 0, verdicts_computed = 0, legal = 0, illegal = 0;
  int64_t timed = 0, failed = 0;
  int64_t accepted = 0;
  int64_t units_covered = 0;
  Json to_json() const;
  static SearchCounts from_json(const JsonIn& j);
};

struct SearchReport {
  std::string model;
  Json options;  // SearchOptions::identity()
  Json rule;     // LegalityRule::to_json()
  double budget_s = 0;
  Json target;  // the machine (tune/target.h)
  NetworkSummary baseline, result;
  double speedup = 1, speedup_min = 1, speedup_max = 1;
  double estimated_ms = 0;       // the result's latency as the search estimated it from kernels
  VerdictSummary final_verdict;  // the guard: the returned network judged once more
  bool backoff_acted = false;    // the guard failed and choices were backed off
  std::vector<std::string> backed_off;  // moves dropped by the guard
  std::vector<ChoiceReport> choices;    // in the order accepted
  std::vector<TrialReport> trials;      // in the order considered
  std::vector<UnitReport> units;
  std::vector<std::string> uncovered_units;  // never judged in any move within the budget
  SearchCounts counts;
  std::map<std::string, double> seconds;  // per phase, and total (this run)
  int runs = 1;                 // completed runs of this search on its folder (--continue adds one)
  double seconds_all_runs = 0;  // their total wall time
  bool from_finished = false;   // read back from a finished folder: nothing ran (not in JSON)
  std::optional<VerifyReport> verification;  // nasx search --verify: the result trained

  Json to_json() const;
  static SearchReport from_json(const JsonIn& j);
};

void write_report(const std::string& dir, const SearchReport& report);

// Markdown of the report (what report.md holds).
std::string report_markdown(const SearchReport& report, bool with_plots);

}  // namespace nasx
