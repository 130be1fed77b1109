// The report as JSON (to_json / from_json), as Markdown, and as three gnuplot plots. Sections in
// that order; write_report at the end puts them in the output directory.
#include "search/report.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>
#include <utility>

#include "support/file.h"
#include "support/format.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "support/temp_files.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

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

// The counters of SearchCounts, in the order report.json and report.md list them.
const std::pair<const char*, int64_t SearchCounts::*> kCounters[] = {
    {"units", &SearchCounts::units},
    {"generated", &SearchCounts::generated},
    {"duplicates", &SearchCounts::duplicates},
    {"candidates", &SearchCounts::candidates},
    {"moves", &SearchCounts::moves},
    {"rejected_by_shape", &SearchCounts::rejected_by_shape},
    {"judged", &SearchCounts::judged},
    {"verdicts_computed", &SearchCounts::verdicts_computed},
    {"legal", &SearchCounts::legal},
    {"illegal", &SearchCounts::illegal},
    {"timed", &SearchCounts::timed},
    {"failed", &SearchCounts::failed},
    {"accepted", &SearchCounts::accepted},
    {"units_covered", &SearchCounts::units_covered},
};

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
              {"seconds", phases}};
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
  return r;
}

namespace {

// ---- What the Markdown and the plots share.

// The object, or an empty one (options, rule and target are free-form JSON).
Json object_or_empty(const Json& j) {
  return j.is_object() ? j : Json::object();
}

double tau_of(const SearchReport& r) {
  return object_or_empty(r.rule).value("tau", 1.0);
}

// "rule calibrated (tau 0.7)"
std::string rule_text(const SearchReport& r) {
  return "rule " + object_or_empty(r.rule).value("name", "?") + " (tau " + fmt(tau_of(r), "%g") +
         ")";
}

// ---- Markdown.

// A number as report.md shows it, "n/a" where it is not finite.
std::string num(double v, const char* format = "%.3f") {
  return std::isfinite(v) ? fmt(v, format) : "n/a";
}

// "median (min-max)"
std::string ms(const TimingStats& t) {
  return num(t.median_ms) + " (" + num(t.min_ms) + "-" + num(t.max_ms) + ")";
}

// "0.259x", or "n/a" against zero
std::string ratio_of(int64_t after, int64_t before) {
  double q = static_cast<double>(after) / static_cast<double>(before);
  return std::isfinite(q) ? fmt(q, "%.3f") + "x" : "n/a";
}

std::string verdict_text(const VerdictSummary& v, double tau) {
  if (!v.judged) return "not judged";
  if (!v.reject_kind.empty()) return "rejected (" + v.reject_kind + "): " + v.message;
  return std::string(v.legal ? "legal" : "illegal") + ", binding ratio (" + v.binding + ") " +
         num(v.mean) + " (" + num(v.min) + "-" + num(v.max) + ") against tau " + fmt(tau, "%g") +
         ", margin " + num(v.margin, "%+.3f") + ", spread " + num(v.spread) +
         (v.uncertain ? ", margin within its spread" : "");
}

// "`a`, `b`"
std::string code_list(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "`" : ", `") + n + "`";
  return s;
}

// The guard: the returned network judged once more, and whether it had to back choices off.
std::string guard_text(const SearchReport& r) {
  const VerdictSummary& v = r.final_verdict;
  std::string s =
      "Guard (the returned network judged once more): " + verdict_text(v, tau_of(r)) + ". ";
  if (r.backoff_acted)
    return s + "The guard found the assembled network illegal and backed off " +
           std::to_string(r.backed_off.size()) + " of the choices: " + code_list(r.backed_off) +
           "; the verdict above is the returned network's.";
  if (v.judged && v.legal)
    return s + "The guard judged the returned network legal; no choice was backed off.";
  return s + "No choice was backed off.";
}

void write_setup(std::ostream& md, const SearchReport& r) {
  Json rule = object_or_empty(r.rule), o = object_or_empty(r.options);
  Json target = object_or_empty(r.target);
  std::string proxies;
  for (const Json& p : rule.value("proxies", Json::array()))
    proxies += (proxies.empty() ? "" : ", ") + p.get<std::string>();
  md << "# nasx search: " << r.model << "\n\n";
  md << "Legality rule `" << rule.value("name", "?") << "`: proxies " << proxies << ", tau "
     << fmt(tau_of(r), "%g") << ", " << rule.value("samples", 0) << " paired samples, "
     << rule.value("scope", "?") << " scope (legal when every proxy keeps its mean ratio to the "
     << "untransformed network at least tau). Minibatches of " << o.value("batch", int64_t{0})
     << " images from `" << o.value("data", "?") << "`, seed " << o.value("seed", uint64_t{0})
     << ", max length " << o.value("max_len", 0) << ", budget " << format_duration(r.budget_s)
     << ". Machine: " << target.value("cpu", "?") << " (" << target.value("isa", "?") << ", "
     << target.value("threads", 0) << " threads); inference batch "
     << o.value("infer_batch", int64_t{1}) << ".\n\n";
}

void write_result(std::ostream& md, const SearchReport& r) {
  const NetworkSummary &b = r.baseline, &s = r.result;
  md << "## Result\n\n| | baseline | searched | change |\n|---|---:|---:|---:|\n";
  md << "| latency, ms: median (min-max) | " << ms(b.latency) << " | " << ms(s.latency) << " | **"
     << num(r.speedup, "%.2f") << "x** faster (" << num(r.speedup_min, "%.2f") << "-"
     << num(r.speedup_max, "%.2f") << "x) |\n";
  md << "| parameters | " << with_commas(b.params) << " | " << with_commas(s.params) << " | "
     << ratio_of(s.params, b.params) << " |\n";
  md << "| MACs | " << with_commas(b.macs) << " | " << with_commas(s.macs) << " | "
     << ratio_of(s.macs, b.macs) << " |\n\n";
  md << "Baseline and searched network are compiled by the same generator and timed end to end in "
        "the same run, interleaved. The searched network agrees with LibTorch (max relative error "
     << num(s.max_rel_err_vs_libtorch, "%.3g") << "). Estimated from its kernels' records (each kernel's measured time, "
     << "scaled by the baseline's end-to-end time over its kernels' sum) it runs in " << num(r.estimated_ms) << " ms; measured, "
     << num(s.latency.median_ms) << " ms.\n\n"
     << guard_text(r) << "\n\n";
}

void write_choices(std::ostream& md, const SearchReport& r) {
  md << "## Choices, in the order accepted\n\n";
  if (r.choices.empty()) {
    md << "No choice was accepted: no legal candidate was faster than the baseline.\n\n";
    return;
  }
  md << "| order | move | sequence | units | binding ratio before -> after | spent | saving, ms | "
        "network, ms (estimated) | notes |\n|---:|---|---|---:|---|---:|---:|---:|---|\n";
  for (size_t i = 0; i < r.choices.size(); ++i) {
    const ChoiceReport& c = r.choices[i];
    const TrialReport& t = r.trials.at(c.trial);
    std::string notes = c.superseded ? "superseded" : "";
    if (t.verdict.uncertain)
      notes += (notes.empty() ? "" : ", ") + std::string("verdict uncertain");
    md << "| " << i + 1 << " | `" << t.move << "` | `" << t.sequence << "` | " << t.units.size()
       << " | " << num(c.ratio_before) << " -> " << num(c.ratio_after) << " | "
       << num(c.ratio_before - c.ratio_after) << " | " << num(c.saving_ms) << " | "
       << num(c.network_ms) << " | " << notes << " |\n";
  }
  md << "\nBinding ratio: the rule's lowest mean ratio over its proxies (and, in block scope, "
        "blocks) for the network as it stood; a choice spends the legality budget between 1 and "
        "tau. Saving: kernel time against what its units ran before. Superseded: a later choice "
        "replaced it on every unit it held. Verdict uncertain: the margin over tau is inside the "
        "spread of its samples.\n\n";
}

void write_counts(std::ostream& md, const SearchReport& r) {
  md << "## Counts\n\n| | |\n|---|---:|\n";
  for (const auto& [key, field] : kCounters)
    md << "| " << key << " | " << r.counts.*field << " |\n";
  if (!r.counts.rejected_by_kind.empty()) {
    md << "\n| rejected by kind | |\n|---|---:|\n";
    for (const auto& [kind, n] : r.counts.rejected_by_kind)
      md << "| " << kind << " | " << n << " |\n";
  }
}

void write_phases_and_coverage(std::ostream& md, const SearchReport& r) {
  md << "\n## Time per phase\n\n| phase | seconds |\n|---|---:|\n";
  for (const auto& [phase, s] : r.seconds) md << "| " << phase << " | " << num(s, "%.1f") << " |\n";
  md << "\n## Coverage\n\n"
     << r.counts.units_covered << " of " << r.counts.units
     << " units covered (judged in at least one move). "
     << (r.uncovered_units.empty()
             ? "Every unit was judged."
             : "Not judged within the budget: " + code_list(r.uncovered_units) + ".")
     << "\n";
}

void write_failures(std::ostream& md, const SearchReport& r) {
  bool any = false;
  for (const TrialReport& t : r.trials) {
    if (!t.timing.timed || t.timing.ok) continue;
    if (!any) md << "\n## Failed candidates (skipped)\n\n";
    any = true;
    md << "- `" << t.move << "`, `" << t.sequence << "`: " << t.timing.error << "\n";
  }
}

}  // namespace

std::string report_markdown(const SearchReport& r, bool with_plots) {
  std::ostringstream md;
  write_setup(md, r);
  write_result(md, r);
  write_choices(md, r);
  write_counts(md, r);
  write_phases_and_coverage(md, r);
  write_failures(md, r);
  md << "\n## Plots\n\n";
  if (with_plots)
    md << "![candidates against parameters, " << rule_text(r) << "](pareto.png)\n\n"
       << "![estimated latency against the binding ratio](trajectory.png)\n\n"
       << "![kernel speedup per choice](speedup.png)\n";
  else
    md << "Not drawn: gnuplot is missing or failed (scripts/install-deps.sh installs "
          "gnuplot-nox). The data are in candidates.dat, pareto.dat, trajectory.dat and "
          "speedup.dat.\n";
  md << "\nFiles: `arch.json` (replayable: `nasx check`, `nasx legal`, `nasx bench` take it), "
        "`report.json`, the journal (`verdicts.jsonl`, `records.jsonl`, `baseline.json`).\n";
  return md.str();
}

namespace {

// ---- Plots: each writes its data files and returns the gnuplot commands that draw it.

// A gnuplot string: single-quoted, quotes doubled.
std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

// A label in a data file: double-quoted, double quotes in it made single.
std::string label(std::string s) {
  std::replace(s.begin(), s.end(), '"', '\'');
  return "\"" + s + "\"";
}

// A number in a data file or script (gnuplot skips "nan").
std::string datum(double v) {
  return fmt(v, "%.6g");
}

// Every timed candidate at (parameters, estimated network latency), coloured by its verdict; the
// Pareto front over the legal ones and the baseline; the searched network and the baseline as
// measured.
std::string pareto_plot(const fs::path& dir, const SearchReport& r) {
  struct Point {
    double params, ms;
  };
  double base_params = static_cast<double>(r.baseline.params),
         base_ms = r.baseline.latency.median_ms;
  std::vector<Point> legal{{base_params, base_ms}};
  std::string points;
  for (const TrialReport& t : r.trials) {
    if (!t.timing.timed || !t.timing.ok) continue;
    Point p{base_params + static_cast<double>(t.params_delta), base_ms - t.timing.saving_ms()};
    int kind = !t.verdict.judged ? 2 : t.verdict.legal ? 0 : 1;  // a rejected one is not legal
    if (kind == 0) legal.push_back(p);
    points += datum(p.params / 1e6) + " " + datum(p.ms) + " " + std::to_string(kind) + "\n";
  }
  std::sort(legal.begin(), legal.end(), [](const Point& a, const Point& b) {
    return a.params < b.params || (a.params == b.params && a.ms < b.ms);
  });
  std::string front;
  double best = INFINITY;
  for (const Point& p : legal)
    if (p.ms < best) {
      best = p.ms;
      front += datum(p.params / 1e6) + " " + datum(p.ms) + "\n";
    }
  write_file_atomically((dir / "candidates.dat").string(),
                        points.empty() ? "nan nan nan\n" : points);
  write_file_atomically((dir / "pareto.dat").string(), front);
  std::string legal_under = "legal under " + rule_text(r);
  std::string title =
      "Every timed candidate, " + legal_under + ": network latency from its kernels";
  std::ostringstream gp;
  gp << "set title " << quoted(title)
     << "\nset xlabel 'parameters (millions)'\nset ylabel 'network latency, ms'\n"
     << "set key below\nset grid\n"
     << "c = " << quoted((dir / "candidates.dat").string()) << "\n"
     << "plot c using 1:($3 == 0 ? $2 : 1/0) pt 7 lc rgb '#2ca02c' title " << quoted(legal_under)
     << ", \\\n"
     << "  c using 1:($3 == 1 ? $2 : 1/0) pt 7 lc rgb '#d62728' title 'illegal or rejected', \\\n"
     << "  c using 1:($3 == 2 ? $2 : 1/0) pt 7 lc rgb '#999999' title 'not judged', \\\n"
     << "  " << quoted((dir / "pareto.dat").string())
     << " using 1:2 with linespoints lw 2 lc rgb 'black' title 'Pareto front (legal)', \\\n"
     << "  '-' using 1:2 pt 6 ps 3 lw 2 lc rgb 'black' title 'searched network (measured)', \\\n"
     << "  '-' using 1:2 pt 4 ps 3 lw 2 lc rgb 'blue' title 'baseline (measured)'\n"
     << datum(static_cast<double>(r.result.params) / 1e6) << " "
     << datum(r.result.latency.median_ms) << "\ne\n"
     << datum(base_params / 1e6) << " " << datum(base_ms) << "\ne\n";
  return gp.str();
}

// The estimated network latency against the binding ratio, one point per choice in the order
// accepted from the baseline at ratio 1; the axis runs from 1 down past tau.
std::string trajectory_plot(const fs::path& dir, const SearchReport& r) {
  double tau = tau_of(r), lo = std::min(1.0, tau), hi = std::max(1.0, tau);
  std::string points = "1 " + datum(r.baseline.latency.median_ms) + " \"baseline\"\n";
  for (size_t i = 0; i < r.choices.size(); ++i) {
    const ChoiceReport& c = r.choices[i];
    points +=
        datum(c.ratio_after) + " " + datum(c.network_ms) + " \"" + std::to_string(i + 1) + "\"\n";
    if (std::isfinite(c.ratio_after)) {
      lo = std::min(lo, c.ratio_after);
      hi = std::max(hi, c.ratio_after);
    }
  }
  write_file_atomically((dir / "trajectory.dat").string(), points);
  double pad = 0.05 * (hi - lo) + 0.01;
  std::string t = datum(tau), data = quoted((dir / "trajectory.dat").string());
  std::ostringstream gp;
  gp << "set title "
     << quoted("Estimated network latency as the choices accumulate, " + rule_text(r)) << "\n"
     << "set xlabel 'binding ratio of the network (legality budget spent left to right)'\n"
     << "set ylabel 'network latency, ms (estimated from kernels)'\nset grid\n"
     << "set xrange [" << datum(hi + pad) << ":" << datum(lo - pad) << "]\n"
     << "set arrow from " << t << ", graph 0 to " << t
     << ", graph 1 nohead dt 2 lw 2 lc rgb '#d62728'\n"
     << "set label 'tau " << t << "' at first " << t << ", graph 0.95 offset 1,0 tc rgb '#d62728'\n"
     << "plot " << data << " using 1:2 with linespoints pt 7 lc rgb '#1f77b4' notitle, \\\n"
     << "  " << data << " using 1:2:3 with labels offset 0,1 notitle\n";
  return gp.str();
}

// Per choice still in the network, its kernels' speedup (baseline over chosen).
std::string speedup_plot(const fs::path& dir, const SearchReport& r) {
  std::string bars;
  int n = 0;
  for (const ChoiceReport& c : r.choices) {
    if (c.superseded) continue;
    const TimingSummary& t = r.trials.at(c.trial).timing;
    bars += std::to_string(n++) + " " + datum(t.baseline.median_ms / t.candidate.median_ms) + " " +
            label(r.trials.at(c.trial).move) + "\n";
  }
  if (n == 0) bars = "0 1 \"(none chosen)\"\n";
  write_file_atomically((dir / "speedup.dat").string(), bars);
  std::ostringstream gp;
  gp << "set title 'Kernel speedup of each choice (baseline kernels / chosen kernels)'\n"
     << "set style fill solid 0.6\nset boxwidth 0.7\nset ylabel 'speedup'\nset bmargin 10\n"
     << "set xtics rotate by -45 font ',8'\nset grid ytics\nset yrange [0:*]\n"
     << "plot " << quoted((dir / "speedup.dat").string())
     << " using 1:2:xtic(3) with boxes notitle, 1 with lines dt 2 notitle\n";
  return gp.str();
}

bool run_gnuplot(const std::string& script_path) {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    execlp("gnuplot", "gnuplot", script_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = -1;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Writes the data files and the script, runs gnuplot, and moves each PNG, drawn under a temporary
// name, into place. False when gnuplot is missing or fails (the report then says so).
bool draw_plots(const fs::path& dir, const SearchReport& r) {
  const std::pair<const char*, std::string> plots[] = {{"pareto.png", pareto_plot(dir, r)},
                                                       {"trajectory.png", trajectory_plot(dir, r)},
                                                       {"speedup.png", speedup_plot(dir, r)}};
  std::vector<std::unique_ptr<TempFile>> pngs;
  // pngcairo (in Debian's gnuplot-nox) draws dashes and smooth lines; gd's png where it is missing.
  std::string script =
      "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
      "  set terminal pngcairo size 1100,600 noenhanced\n"
      "} else {\n"
      "  set terminal png size 1100,600 noenhanced\n"
      "}\n";
  for (const auto& [png, commands] : plots) {
    pngs.push_back(std::make_unique<TempFile>(temp_name_for((dir / png).string())));
    script += "reset\nset output " + quoted(pngs.back()->path()) + "\n" + commands;
  }
  std::string script_path = (dir / "plots.gp").string();
  write_file_atomically(script_path, script);
  bool ok = run_gnuplot(script_path);
  check_interrupted();
  for (size_t i = 0; i < pngs.size(); ++i) {
    std::error_code ec;
    if (!ok || !fs::exists(pngs[i]->path())) return false;
    fs::rename(pngs[i]->path(), dir / plots[i].first, ec);
    if (ec) return false;
    pngs[i]->release();
  }
  return true;
}

}  // namespace

void write_report(const std::string& dir, const SearchReport& report) {
  fs::path d(dir);
  // A worker's error message may hold bytes that are not UTF-8: replaced, not fatal.
  write_file_atomically(
      (d / "report.json").string(),
      report.to_json().dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
  bool plots = draw_plots(d, report);
  if (!plots) log(LogLevel::Warn, "warning: plots not drawn (gnuplot missing or failed)");
  write_file_atomically((d / "report.md").string(), report_markdown(report, plots));
}

}  // namespace nasx
