// The report as Markdown (report_markdown), and write_report, which puts report.json, the plots
// (report_plots.cpp) and report.md in the output directory. The JSON is in report_json.cpp.
#include "search/report.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "search/report_format.h"
#include "search/report_plots.h"
#include "support/file.h"
#include "support/format.h"
#include "support/log.h"
#include "support/progress.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;
using report_detail::kCounters;
using report_detail::object_or_empty;
using report_detail::rule_text;
using report_detail::tau_of;

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
     << o.value("infer_batch", int64_t{1}) << ".";
  // The tuning records the kernels took their knobs from (part of the search's identity).
  if (o.contains("tuning") && o["tuning"].is_object())
    md << " Kernel knobs from " << o["tuning"].value("entries", int64_t{0})
       << " tuning records in `" << o["tuning"].value("records", "?") << "` (`nasx tune`).";
  else
    md << " Kernel knobs: the default rule (no tuning records).";
  md << "\n\n";
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
     << num(s.max_rel_err_vs_libtorch, "%.3g")
     << "). Estimated from its kernels' records (each kernel's measured time, "
     << "scaled by the baseline's end-to-end time over its kernels' sum) it runs in "
     << num(r.estimated_ms) << " ms; measured, " << num(s.latency.median_ms) << " ms.\n\n"
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
  md << "\n## Time per phase\n\nThis run; the search took " << r.runs << " run"
     << (r.runs == 1 ? "" : "s") << " on this folder, " << num(r.seconds_all_runs, "%.0f")
     << " s in all.\n\n| phase | seconds |\n|---|---:|\n";
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
  if (r.verification) md << "\n" << verify_markdown(*r.verification);
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
