// Measuring operators on the real machine, for the search and the tuner alike: lower each
// operator instance, compile all of them into one shared library (one compiler start-up), and
// time them together in the isolated worker, interleaved. Every result is appended to the
// records as it arrives, filed under its kernel_key (runtime/compiled_op.h); an instance whose
// kernel already has a record is not measured again
// unless it is in `fresh` (a baseline re-measured beside its candidates, in the same run).
// A kernel that fails to compile, crashes or hangs gets a failed record; the others go on.
#pragma once

#include <string>
#include <vector>

#include "runtime/compiled_op.h"
#include "tune/records.h"
#include "tune/worker.h"

namespace nasx {

struct MeasureRequest {
  OpInstance op;
  std::string label;               // for records and messages, e.g. "layer1.0.conv1 group(4)"
  bool fresh = false;              // measure even when a record exists
  std::string fault;               // test hook, passed to the worker ("crash" | "hang")
  std::string variant_of, choice;  // tuning: the kernel and the variant (tune/records.h)
};

// One record per request, in order (shared when two requests have the same workload).
std::vector<MeasureRecord> measure_ops(const std::vector<MeasureRequest>& requests,
                                       RecordStore& records, const WorkerOptions& options = {});

}  // namespace nasx
