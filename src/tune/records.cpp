#include "tune/records.h"

#include <filesystem>
#include <fstream>

#include "support/error.h"
#include "support/file.h"
#include "support/hash.h"
#include "support/json_in.h"
#include "support/log.h"

namespace nasx {

void check_records_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::symlink_status(path, ec);
  if (!fs::exists(st)) return;
  NASX_USER_CHECK(!fs::is_symlink(st), "will not use ", path,
                  " as a tuning records file: it is a symbolic link (name the file it points to)");
  check_appendable_file(path, "a tuning records file");
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line) && line.find_first_not_of(" \t\r") == std::string::npos) {
  }
  if (line.empty()) return;  // empty: a new records file
  Json j = Json::parse(line, nullptr, false);
  NASX_USER_CHECK(j.is_object() && j.contains("target") && j.contains("workload"), "will not use ",
                  path, " as a tuning records file: its first line is not a tuning record (",
                  line.substr(0, 40), line.size() > 40 ? "..." : "",
                  "); name a records file nasx wrote, or a new one");
}

RecordStore::RecordStore(const std::string& path, Target target)
    : file_(path), path_(path), target_(std::move(target)), key_(target_.key()) {
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
      r.variant_of = j.str("group");
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

std::string RecordStore::digest() const {
  Hasher h;
  for (const auto& [workload, r] : records_)  // a map: in key order, whatever the file's order
    h.add(workload)
        .add(r.status)
        .add(r.variant_of)
        .add(r.choice)
        .add(std::to_string(r.stats.median_ms));
  return h.hex();
}

const MeasureRecord* RecordStore::find(const std::string& workload) const {
  auto it = records_.find(workload);
  return it == records_.end() ? nullptr : &it->second;
}

const MeasureRecord* RecordStore::best(const std::string& variant_of) const {
  const MeasureRecord* best = nullptr;
  for (const auto& [w, r] : records_)
    if (r.variant_of == variant_of && r.ok() &&
        (!best || r.stats.median_ms < best->stats.median_ms))
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
  if (!r.variant_of.empty()) {
    j["group"] = r.variant_of;
    j["choice"] = r.choice;
  }
  file_.append(j);
  records_[r.workload] = r;
}

}  // namespace nasx
