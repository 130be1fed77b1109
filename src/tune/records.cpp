#include "tune/records.h"

#include "support/log.h"

namespace nasx {

RecordStore::RecordStore(const std::string& path, Target target)
    : file_(path), target_(std::move(target)), key_(target_.key()) {
  for (const Json& j : file_.read_all()) {
    try {
      if (j.at("target").get<std::string>() != key_) continue;
      MeasureRecord r;
      r.workload = j.at("workload").get<std::string>();
      r.label = j.value("label", "");
      r.status = j.at("status").get<std::string>();
      r.error = j.value("error", "");
      r.group = j.value("group", "");
      r.choice = j.value("choice", "");
      if (r.ok()) {
        r.stats.median_ms = j.at("median_ms").get<double>();
        r.stats.min_ms = j.at("min_ms").get<double>();
        r.stats.max_ms = j.at("max_ms").get<double>();
        r.stats.repeats = j.at("repeats").get<int>();
      }
      records_[r.workload] = r;
    } catch (const Json::exception& e) {
      log(LogLevel::Warn, "warning: ", path, ": skipping a record with missing fields (", e.what(),
          ")");
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
