// The tuner: for every distinct blocked convolution kernel of a network, the rule's knobs and a
// seeded sample of its knob space (already pruned to the register budget; tiles over 28
// positions are not in it) are compiled into one library per kernel and timed together in the
// isolated worker (tune/worker.h) with its timeout. Every measurement is appended to the records
// as it arrives, with the kernel (group) and the variant (choice), so an interrupted tuning
// resumes where it stopped and nothing is measured twice. apply_records() hands
// CompiledNetwork::compile the fastest recorded variant of each kernel.
#pragma once

#include <optional>
#include <string>

#include "graph/network.h"
#include "runtime/compiled_network.h"
#include "tune/records.h"

namespace nasx {

struct TuneOptions {
  double budget_seconds = 600;  // stop starting new kernels after this
  int variants = 16;            // per kernel, besides the rule's choice
  uint64_t seed = 0;
};

struct TuneSummary {
  int kernels = 0;  // distinct blocked conv kernels
  int tuned = 0;    // with every variant measured and at least one timed
  int failed = 0;   // every variant failed (compile error, crash, timeout)
  std::string first_error;
  int measured = 0;    // variants measured by this run (the rest came from the records)
  double rule_ms = 0;  // sum over tuned kernels of the rule's variant
  double best_ms = 0;  // sum over tuned kernels of the best variant
};

TuneSummary tune_network(const Network& net, int64_t batch, RecordStore& records,
                         const TuneOptions& options);

// Sets each blocked conv instance's knobs to its best record, when there is one.
KnobChooser apply_records(const RecordStore& records);

// $XDG_CACHE_HOME/nasx/tuning.jsonl (or ~/.cache/nasx/...): where `nasx tune` writes by default
// and where the runtime looks for records.
std::string default_records_path();

// The default records file's best variants, when it exists (run, bench, check and the search's
// compiled networks use it); an empty chooser otherwise.
class DefaultTuning {
 public:
  DefaultTuning();
  KnobChooser chooser() const { return records_ ? apply_records(*records_) : KnobChooser{}; }
  // What the chooser depends on, for a search's identity and report: {"records": path,
  // "entries": n, "digest": ...} of this target's records, or null when there are none (the
  // rule's knobs everywhere).
  Json identity() const;

 private:
  std::optional<RecordStore> records_;
};

}  // namespace nasx
