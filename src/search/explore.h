// Exploration in context: the legality budget spent where it buys the most time.
//
// Under a network-scope rule the distance between 1.0 and tau is one budget that every choice
// spends. So every verdict judges the network as it stands (the choices accepted so far) plus the
// move, and a move is accepted only when that network stays legal: the network the search returns
// is legal by construction. The state is an assignment (unit -> candidate); its steps are applied
// in a canonical order (channel changes first, then by unit), so a verdict's journal key is a
// function of the assignment.
//
// Coarse to fine (moves.h): network-wide and stage-wide moves in one pool (two thirds of the time),
// then a coverage pass (each network-wide role with a unit no verdict has judged yet gets its move
// expected to spend least), then per-unit refinement for the rest. Within a pool, moves are judged
// best first: those whose expected spend fits what is left of the budget, then by time saved per
// unit of ratio they are expected to spend. Time saved is measured (the move's kernels against the
// baseline's, in the worker) before a move is judged: the best untimed moves are timed eight at a
// time, ranked until then by a MAC estimate at the unit's measured throughput, so a deep network
// is not bound by compiling every move. The expected spend is learned as the search goes: per
// proxy of the rule, a first-order model from the reference's block values split over their
// layers by parameters, scaled per transformation kind by what verdicts actually spent (a prior
// of 1). A unit whose aggressive candidate no longer fits keeps its milder ones in the pool
// (group(2) where bottleneck(4) does not fit), so it is given up only when none of them fits.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "search/evaluate.h"
#include "search/legality.h"
#include "search/moves.h"

namespace nasx {

// Faults injected on purpose by the tests; the CLI reads them from the environment
// (NASX_TEST_FAULT=crash:SEQUENCE, hang:SEQUENCE or crash:* makes the worker fail on those
// candidates' kernels; NASX_TEST_KILL_AFTER_VERDICTS=N kills the search, SIGKILL, once N verdicts
// have been computed). Nothing below the CLI reads the environment for them.
struct SearchFaults {
  std::string worker_fault;    // "crash" or "hang", empty: none
  std::string fault_sequence;  // a printed sequence, or "*"
  int64_t kill_after_verdicts = 0;
  static SearchFaults from_environment();
  std::string fault_for(const std::string& sequence) const;
  void after_verdict(int64_t computed) const;  // kills the process when it is time
};

// An assignment: unit index -> the candidate it runs.
using Assignment = std::map<size_t, const Candidate*>;

// The steps of an assignment in canonical order (channel changes first: a consumer must still be
// plain when its input channels change; then by unit).
std::vector<ArchStep> assignment_steps(const std::vector<SearchUnit>& units, const Assignment& a);

// One move as the search saw it.
struct Trial {
  Move move;
  double estimated_spend = 0;
  double ratio_before = 1;
  CandidateTiming timing;
  bool timed = false;
  PairedVerdict verdict;
  bool judged = false;
  int accepted = -1;  // order of acceptance
};

struct Acceptance {
  size_t trial = 0;
  double ratio_before = 1, ratio_after = 1;
  double saving_ms = 0;   // against what its units ran before
  double network_ms = 0;  // estimated network latency after it
  Assignment assignment;  // the state after it
};

struct ExploreContext {
  const Network& base;
  const std::vector<SearchUnit>& units;
  PairedJudge& judge;
  double tau = 1;
  std::string scope;
  int samples = 3;
  uint64_t seed = 0;
  const std::map<std::string, OpInstance>& base_kernels;
  const std::map<std::string, double>& base_kernel_ms;  // measured, per node
  int64_t infer_batch = 1;
  double base_ms = 0;  // the baseline's end-to-end latency
  RecordStore& records;
  const SearchFaults& faults;
  int judges_per_unit = 0;               // 0: a share of the budget
  std::function<double()> seconds_left;  // for exploring (the reserve for the rest excluded)
};

struct Exploration {
  std::vector<Trial> trials;
  std::vector<Acceptance> accepted;
  Assignment assignment;
  double ratio = 1;           // the binding ratio of the network as it stands
  PairedVerdict verdict;      // its verdict (unset when nothing was accepted)
  std::vector<bool> covered;  // per unit: judged in at least one move
  int64_t rejected = 0;       // moves that did not apply in context
  std::map<std::string, int64_t> rejected_by_kind;
  double estimated_ms = 0;  // the network's latency estimated from kernel savings
};

Exploration explore(const ExploreContext& ctx);

}  // namespace nasx
