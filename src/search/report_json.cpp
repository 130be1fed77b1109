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
// takes the field's default; a field of the wrong type is the reader's (JsonIn's) UserError.

Json real(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

template <class T>
Json list_json(const std::vector<T>& items) {
  Json a = Json::array();
  for (const T& x : items) a.push_back(x.to_json());
  return a;
}

template <class T>
std::vector<T> list_at(const JsonIn& j, const char* key) {
  std::vector<T> items;
  for (const JsonIn& x : j.list(key)) items.push_back(T::from_json(x));
  return items;
}

}  // namespace

Json timing_json(const TimingStats& s) {
  return Json{{"median_ms", real(s.median_ms)},
              {"min_ms", real(s.min_ms)},
              {"max_ms", real(s.max_ms)},
              {"repeats", s.repeats}};
}

TimingStats timing_from_json(const JsonIn& j) {
  TimingStats s;
  s.median_ms = j.real("median_ms");
  s.min_ms = j.real("min_ms");
  s.max_ms = j.real("max_ms");
  s.repeats = static_cast<int>(j.integer("repeats", 0));
  return s;
}

Json VerdictSummary::to_json() const {
  if (!judged) return Json{{"judged", false}};
  if (!reject_kind.empty()) return Json{{"rejected", reject_kind}, {"message", message}};
  return Json{{"legal", legal},         {"binding", binding},    {"mean", real(mean)},
              {"min", real(min)},       {"max", real(max)},      {"margin", real(margin)},
              {"spread", real(spread)}, {"uncertain", uncertain}};
}

VerdictSummary VerdictSummary::from_json(const JsonIn& j) {
  VerdictSummary v;
  if (j.is_null() || !j.boolean("judged", true)) return v;
  v.judged = true;
  if (j.has("rejected")) {
    v.reject_kind = j.str("rejected");
    v.message = j.str("message");
    return v;
  }
  v.legal = j.boolean("legal", false);
  v.binding = j.str("binding");
  v.mean = j.real("mean");
  v.min = j.real("min");
  v.max = j.real("max");
  v.margin = j.real("margin");
  v.spread = j.real("spread");
  v.uncertain = j.boolean("uncertain", false);
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

TimingSummary TimingSummary::from_json(const JsonIn& j) {
  TimingSummary t;
  if (j.is_null() || !j.boolean("timed", true)) return t;
  t.timed = true;
  t.ok = j.boolean("ok", false);
  t.error = j.str("error");
  t.kernels = j.strings("kernels");
  t.baseline = timing_from_json(j.field("baseline"));
  t.candidate = timing_from_json(j.field("candidate"));
  t.shared = j.boolean("shared", false);
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

TrialReport TrialReport::from_json(const JsonIn& j) {
  TrialReport t;
  t.move = j.str("move");
  t.level = j.str("level");
  t.units = j.strings("units");
  t.layers = j.strings("layers");
  t.sequence = j.str("sequence");
  t.macs_delta = j.integer("macs_delta");
  t.params_delta = j.integer("params_delta");
  t.ratio_before = j.real("ratio_before", 1);
  t.estimated_spend = j.real("estimated_spend");
  t.timing = TimingSummary::from_json(j.field("timing"));
  t.verdict = VerdictSummary::from_json(j.field("verdict"));
  t.accepted = static_cast<int>(j.integer("accepted", -1));
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

ChoiceReport ChoiceReport::from_json(const JsonIn& j) {
  ChoiceReport c;
  c.trial = static_cast<size_t>(j.integer("trial"));
  c.ratio_before = j.real("ratio_before", 1);
  c.ratio_after = j.real("ratio_after", 1);
  c.saving_ms = j.real("saving_ms");
  c.network_ms = j.real("network_ms");
  c.superseded = j.boolean("superseded", false);
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

UnitReport UnitReport::from_json(const JsonIn& j) {
  UnitReport u;
  u.name = j.str("name");
  u.layers = j.strings("layers");
  u.joint = j.boolean("joint", false);
  u.macs = j.integer("macs");
  u.params = j.integer("params");
  u.baseline_kernels_ms = j.real("baseline_kernels_ms");
  u.candidates = j.integer("candidates");
  u.chosen = j.str("chosen");
  u.covered = j.boolean("covered", false);
  return u;
}

Json NetworkSummary::to_json() const {
  return Json{{"params", params},
              {"macs", macs},
              {"latency", timing_json(latency)},
              {"max_rel_err_vs_libtorch", real(max_rel_err_vs_libtorch)}};
}

NetworkSummary NetworkSummary::from_json(const JsonIn& j) {
  NetworkSummary n;
  n.params = j.integer("params");
  n.macs = j.integer("macs");
  n.latency = timing_from_json(j.field("latency"));
  n.max_rel_err_vs_libtorch = j.real("max_rel_err_vs_libtorch");
  return n;
}

Json SearchCounts::to_json() const {
  Json j = Json::object();
  for (const auto& [key, field] : kCounters) j[key] = this->*field;
  j["rejected_by_kind"] = rejected_by_kind;
  return j;
}

SearchCounts SearchCounts::from_json(const JsonIn& j) {
  SearchCounts c;
  for (const auto& [key, field] : kCounters) c.*field = j.integer(key);
  for (const auto& [kind, n] : j.entries("rejected_by_kind"))
    c.rejected_by_kind[kind] = n.as_integer();
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

SearchReport SearchReport::from_json(const JsonIn& j) {
  SearchReport r;
  r.model = j.str("model");
  r.options = j.object("options");
  r.rule = j.object("rule");
  r.budget_s = j.real("budget_s");
  r.target = j.object("target");
  r.baseline = NetworkSummary::from_json(j.field("baseline"));
  r.result = NetworkSummary::from_json(j.field("result"));
  r.speedup = j.real("speedup", 1);
  r.speedup_min = j.real("speedup_min", 1);
  r.speedup_max = j.real("speedup_max", 1);
  r.estimated_ms = j.real("estimated_ms");
  r.final_verdict = VerdictSummary::from_json(j.field("final_verdict"));
  r.backoff_acted = j.boolean("backoff_acted", false);
  r.backed_off = j.strings("backed_off");
  r.choices = list_at<ChoiceReport>(j, "choices");
  r.trials = list_at<TrialReport>(j, "trials");
  r.units = list_at<UnitReport>(j, "units");
  r.uncovered_units = j.strings("uncovered_units");
  r.counts = SearchCounts::from_json(j.field("counts"));
  for (const auto& [phase, s] : j.entries("seconds")) r.seconds[phase] = s.as_real();
  r.runs = static_cast<int>(j.integer("runs", 1));
  r.seconds_all_runs = j.real("seconds_all_runs");
  if (j.has("verification") && !j.field("verification").is_null())
    r.verification = VerifyReport::from_json(j.field("verification"));
  return r;
}

}  // namespace nasx
