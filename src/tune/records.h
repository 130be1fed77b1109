// Measurement records: one JSON line per measured kernel, appended as each result arrives, keyed
// by (target, workload). The workload is a hash of the kernel's lowered code and arguments, so
// layers with the same shape and context share one record. A later record for the same key wins
// (a fresh measurement taken in the same run as its comparison). Records of other targets are
// kept in the file and ignored; a corrupt line is skipped with a warning.
//   {"target": "...", "workload": "9f2c...", "label": "layer1.0.conv1 group(4)",
//    "status": "ok", "median_ms": 0.12, "min_ms": 0.11, "max_ms": 0.15, "repeats": 15}
// status: ok | failed (compile error, crash, or timeout; `error` says which).
// Tuning adds "group" (the kernel being tuned: the workload of its default variant; variant_of
// in the code) and
// "choice" (the variant's knobs); best(variant_of) is the fastest measured variant of a kernel.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "support/journal.h"
#include "support/timing.h"
#include "tune/target.h"

namespace nasx {

struct MeasureRecord {
  std::string workload, label, status = "ok", error;
  // Tuning only: the kernel this is a variant of (its default variant's workload; "group" in the
  // file) and the variant's knobs.
  std::string variant_of, choice;
  TimingStats stats;
  bool ok() const { return status == "ok"; }
};

// A records file a user names (`nasx tune --records F`): UserError unless F is new, or a regular
// file (not a symbolic link, device or FIFO) whose first line is a record. Before this, tuning
// appended to a symlink's target and to any file after a warning.
void check_records_file(const std::string& path);

class RecordStore {
 public:
  RecordStore(const std::string& path, Target target);
  const MeasureRecord* find(const std::string& workload) const;
  const MeasureRecord* best(const std::string& variant_of) const;  // fastest ok variant, or null
  void add(const MeasureRecord& record);                           // appended to the file at once
  size_t size() const { return records_.size(); }
  // A hash of every record of this target (workload, status, choice, time): what a search that
  // used these records depends on (tune/tune.h, DefaultTuning::identity).
  std::string digest() const;
  const Target& target() const { return target_; }
  const std::string& path() const { return path_; }

 private:
  JsonLines file_;
  std::string path_;
  Target target_;
  std::string key_;
  std::map<std::string, MeasureRecord> records_;
};

}  // namespace nasx
