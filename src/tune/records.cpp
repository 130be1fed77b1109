#include "tune/records.h"

#include "support/error.h"
#include "support/json_in.h"
#include "support/log.h"

namespace nasx {

RecordStore::RecordStore(const std::string& path, Target target)
    : file_(path), target_(std::move(target)), key_(target_.key()) {
  int line = 0;
  for (const Json& record : file_.read_all()) {
    JsonIn j(record, path + ", record " + std::to_string(++line));
    try {
      if (j.require("target").as_string() != key_) continue;
      MeasureRecord r;
      r.workload = j.require("workload").as_string();
      r.label = j.str("label");
      r.status = j.require("status").as_string();
      r.error = j.str("error");
      r.group = j.str("group");
      r.choice = j.str("choice");
      if (r.ok()) {
        r.stats.median_ms = j.require("median_ms").as_real();
        r.stats.min_ms = j.require("min_ms").as_real();
        r.stats.max_ms = j.require("max_ms").as_real();
        r.stats.repeats = static_cast<int>(j.require("repeats").as_integer());
      }
      records_[r.workload] = r;
    } catch (const UserError& e) {
      // One bad record costs its measurement, not the file: said, skipped, measured again.
      log(LogLevel::Warn, "warning: skipping a tuning record: ", e.what());
    }
  }
}

const MeasureRecord* RecordStore::find(const std::string& workload) const {
  auto it = records_.find(workload);
  return it == records_.end() ? nullptr : &it->second;
}

const MeasureRecord* RecordStore::best(const std::string& group) const {
  const MeasureRecord* best = nullptr;
  for (const auto& [w, r] : records_)
    if (r.group == group && r.ok() && (!best || r.stats.median_ms < best->stats.median_ms))
      best = &r;
  return best;
}

void RecordStore::add(const MeasureRecord& r) {
  Json j{{"target", key_}, {"workload", r.workload}, {"label", r.label}, {"status", r.status}};
  if (r.ok()) {
    j["median_ms"] = r.stats.median_ms;
    j["min_ms"] = r.stats.min_ms;
    j["max_ms"] = r.stats.max_ms;
    j["repeats"] = r.stats.repeats;
  } else {
    j["error"] = r.error;
  }
  if (!r.group.empty()) {
    j["group"] = r.group;
    j["choice"] = r.choice;
  }
  file_.append(j);
  records_[r.workload] = r;
}

}  // namespace nasx
