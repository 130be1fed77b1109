// The report as JSON: to_json / from_json of every SearchReport struct, and timing_json.
#include <cmath>
#include <string>
#include <vector>

#include "search/report.h"
#include "search/report_format.h"

namespace nasx {
namespace {

using report_detail::kCounters;

// ---- JSON. A double that is not finite is written as null and read back as NaN; a missing key
// takes the field's default.

Json real(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

double real_at(const Json& j, const char* key, double fallback = 0) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  return it->is_number() ? it->get<double>() : NAN;
}

template <class T>
Json list_json(const std::vector<T>& items) {
  Json a = Json::array();
  for (const T& x : items) a.push_back(x.to_json());
  return a;
}

template <class T>
std::vector<T> list_at(const Json& j, const char* key) {
  std::vector<T> items;
  for (const Json& x : j.value(key, Json::array())) items.push_back(T::from_json(x));
  return items;
}

std::vector<std::string> strings_at(const Json& j, const char* key) {
  return j.value(key, Json::array()).get<std::vector<std::string>>();
}

}  // namespace

Json timing_json(const TimingStats& s) {
  return Json{{"median_ms", real(s.median_ms)},
              {"min_ms", real(s.min_ms)},
              {"max_ms", real(s.max_ms)},
              {"repeats", s.repeats}};
}

TimingStats timing_from_json(const Json& j) {
  TimingStats s;
  s.median_ms = real_at(j, "median_ms");
  s.min_ms = real_at(j, "min_ms");
  s.max_ms = real_at(j, "max_ms");
  s.repeats = j.value("repeats", 0);
  return s;
}

Json VerdictSummary::to_json() const {
  if (!judged) return Json{{"judged", false}};
  if (!reject_kind.empty()) return Json{{"rejected", reject_kind}, {"message", message}};
  return Json{{"legal", legal},         {"binding", binding},    {"mean", real(mean)},
              {"min", real(min)},       {"max", real(max)},      {"margin", real(margin)},
              {"spread", real(spread)}, {"uncertain", uncertain}};
}

VerdictSummary VerdictSummary::from_json(const Json& j) {
  VerdictSummary v;
  if (!j.is_object() || !j.value("judged", true)) return v;
  v.judged = true;
  if (j.contains("rejected")) {
    v.reject_kind = j.value("rejected", "");
    v.message = j.value("message", "");
    return v;
  }
  v.legal = j.value("legal", false);
  v.binding = j.value("binding", "");
  v.mean = real_at(j, "mean");
  v.min = real_at(j, "min");
  v.max = real_at(j, "max");
  v.margin = real_at(j, "margin");
  v.spread = real_at(j, "spread");
  v.uncertain = j.value("uncertain", false);
  return v;
}

Json TimingSummary::to_json() const {
  if (!timed) return Json{{"timed", false}};
  Json j{{"ok", ok},
         {"kernels", kernels},
         {"baseline", timing_json(baseline)},
         {"candidate", timing_json(candidate)},
         {"shared", shared}};
  if (!ok) j["error"] = error;
  return j;
}

TimingSummary TimingSummary::from_json(const Json& j) {
  TimingSummary t;
  if (!j.is_object() || !j.value("timed", true)) return t;
  t.timed = true;
  t.ok = j.value("ok", false);
  t.error = j.value("error", "");
  t.kernels = strings_at(j, "kernels");
  t.baseline = timing_from_json(j.value("baseline", Json::object()));
  t.candidate = timing_from_json(j.value("candidate", Json::object()));
  t.shared = j.value("shared", false);
  return t;
}

Json TrialReport::to_json() const {
  return Json{{"move", move},
              {"level", level},
              {"units", units},
              {"layers", layers},
              {"sequence", sequence},
              {"macs_delta", macs_delta},
              {"params_delta", params_delta},
              {"ratio_before", real(ratio_before)},
              {"estimated_spend", real(estimated_spend)},
              {"timing", timing.to_json()},
              {"verdict", verdict.to_json()},
              {"accepted", accepted}};
}

TrialReport TrialReport::from_json(const Json& j) {
  TrialReport t;
  t.move = j.value("move", "");
  t.level = j.value("level", "");
  t.units = strings_at(j, "units");
  t.layers = strings_at(j, "layers");
  t.sequence = j.value("sequence", "");
  t.macs_delta = j.value("macs_delta", int64_t{0});
  t.params_delta = j.value("params_delta", int64_t{0});
  t.ratio_before = real_at(j, "ratio_before", 1);
  t.estimated_spend = real_at(j, "estimated_spend");
  t.timing = TimingSummary::from_json(j.value("timing", Json()));
  t.verdict = VerdictSummary::from_json(j.value("verdict", Json()));
  t.accepted = j.value("accepted", -1);
  return t;
}

Json ChoiceReport::to_json() const {
  return Json{{"trial", trial},
              {"ratio_before", real(ratio_before)},
              {"ratio_after", real(ratio_after)},
              {"saving_ms", real(saving_ms)},
              {"network_ms", real(network_ms)},
              {"superseded", superseded}};
}

ChoiceReport ChoiceReport::from_json(const Json& j) {
  ChoiceReport c;
  c.trial = j.value("trial", size_t{0});
  c.ratio_before = real_at(j, "ratio_before", 1);
  c.ratio_after = real_at(j, "ratio_after", 1);
  c.saving_ms = real_at(j, "saving_ms");
  c.network_ms = real_at(j, "network_ms");
  c.superseded = j.value("superseded", false);
  return c;
}

Json UnitReport::to_json() const {
  return Json{{"name", name},
              {"layers", layers},
              {"joint", joint},
              {"macs", macs},
              {"params", params},
              {"baseline_kernels_ms", real(baseline_kernels_ms)},
              {"candidates", candidates},
              {"chosen", chosen},
              {"covered", covered}};
}

UnitReport UnitReport::from_json(const Json& j) {
  UnitReport u;
  u.name = j.value("name", "");
  u.layers = strings_at(j, "layers");
  u.joint = j.value("joint", false);
  u.macs = j.value("macs", int64_t{0});
  u.params = j.value("params", int64_t{0});
  u.baseline_kernels_ms = real_at(j, "baseline_kernels_ms");
  u.candidates = j.value("candidates", int64_t{0});
  u.chosen = j.value("chosen", "");
  u.covered = j.value("covered", false);
  return u;
}

Json NetworkSummary::to_json() const {
  return Json{{"params", params},
              {"macs", macs},
              {"latency", timing_json(latency)},
              {"max_rel_err_vs_libtorch", real(max_rel_err_vs_libtorch)}};
}

NetworkSummary NetworkSummary::from_json(const Json& j) {
  NetworkSummary n;
  n.params = j.value("params", int64_t{0});
  n.macs = j.value("macs", int64_t{0});
  n.latency = timing_from_json(j.value("latency", Json::object()));
  n.max_rel_err_vs_libtorch = real_at(j, "max_rel_err_vs_libtorch");
  return n;
}

Json SearchCounts::to_json() const {
  Json j = Json::object();
  for (const auto& [key, field] : kCounters) j[key] = this->*field;
  j["rejected_by_kind"] = rejected_by_kind;
  return j;
}

SearchCounts SearchCounts::from_json(const Json& j) {
  SearchCounts c;
  for (const auto& [key, field] : kCounters) c.*field = j.value(key, int64_t{0});
  c.rejected_by_kind =
      j.value("rejected_by_kind", Json::object()).get<std::map<std::string, int64_t>>();
  return c;
}

Json SearchReport::to_json() const {
  Json phases = Json::object();
  for (const auto& [phase, s] : seconds) phases[phase] = real(s);
  return Json{{"model", model},
              {"options", options},
              {"rule", rule},
              {"budget_s", real(budget_s)},
              {"target", target},
              {"baseline", baseline.to_json()},
              {"result", result.to_json()},
              {"speedup", real(speedup)},
              {"speedup_min", real(speedup_min)},
              {"speedup_max", real(speedup_max)},
              {"estimated_ms", real(estimated_ms)},
              {"final_verdict", final_verdict.to_json()},
              {"backoff_acted", backoff_acted},
              {"backed_off", backed_off},
              {"choices", list_json(choices)},
              {"trials", list_json(trials)},
              {"units", list_json(units)},
              {"uncovered_units", uncovered_units},
              {"counts", counts.to_json()},
              {"seconds", phases},
              {"runs", runs},
              {"seconds_all_runs", real(seconds_all_runs)},
              {"verification", verification ? verification->to_json() : Json()}};
}

SearchReport SearchReport::from_json(const Json& j) {
  SearchReport r;
  r.model = j.value("model", "");
  r.options = j.value("options", Json::object());
  r.rule = j.value("rule", Json::object());
  r.budget_s = real_at(j, "budget_s");
  r.target = j.value("target", Json::object());
  r.baseline = NetworkSummary::from_json(j.value("baseline", Json::object()));
  r.result = NetworkSummary::from_json(j.value("result", Json::object()));
  r.speedup = real_at(j, "speedup", 1);
  r.speedup_min = real_at(j, "speedup_min", 1);
  r.speedup_max = real_at(j, "speedup_max", 1);
  r.estimated_ms = real_at(j, "estimated_ms");
  r.final_verdict = VerdictSummary::from_json(j.value("final_verdict", Json()));
  r.backoff_acted = j.value("backoff_acted", false);
  r.backed_off = strings_at(j, "backed_off");
  r.choices = list_at<ChoiceReport>(j, "choices");
  r.trials = list_at<TrialReport>(j, "trials");
  r.units = list_at<UnitReport>(j, "units");
  r.uncovered_units = strings_at(j, "uncovered_units");
  r.counts = SearchCounts::from_json(j.value("counts", Json::object()));
  const Json phases = j.value("seconds", Json::object());
  for (const auto& [phase, s] : phases.items())
    r.seconds[phase] = s.is_number() ? s.get<double>() : NAN;
  r.runs = j.value("runs", 1);
  r.seconds_all_runs = real_at(j, "seconds_all_runs");
  if (j.contains("verification") && j["verification"].is_object())
    r.verification = VerifyReport::from_json(j["verification"]);
  return r;
}

}  // namespace nasx
