#include "search/report.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "search/rule.h"
#include "support/file.h"
#include "support/format.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "support/temp_files.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

// A number of the report, or NaN where JSON holds null (a ratio that was not finite).
double d(const Json& j) {
  return j.is_number() ? j.get<double>() : NAN;
}

std::string ms(const Json& t) {
  return fmt(t["median_ms"].get<double>(), "%.3f") + " (" + fmt(t["min_ms"].get<double>(), "%.3f") +
         "-" + fmt(t["max_ms"].get<double>(), "%.3f") + ")";
}

double saving(const Json& trial) {
  const Json& t = trial["timing"];
  return t["baseline"]["median_ms"].get<double>() - t["candidate"]["median_ms"].get<double>();
}

// A chosen trial is "within noise" when its timing interval overlaps the baseline's or another
// timed candidate's of the same unit: a rerun may choose differently.
bool within_noise(const Json& trials, size_t chosen) {
  const Json& c = trials[chosen]["timing"];
  double lo = c["candidate"]["min_ms"], hi = c["candidate"]["max_ms"];
  if (hi >= c["baseline"]["min_ms"].get<double>()) return true;
  for (size_t k = 0; k < trials.size(); ++k) {
    const Json& t = trials[k];
    if (k == chosen || t["unit"] != trials[chosen]["unit"] || !t.contains("timing") ||
        !t["timing"]["ok"].get<bool>())
      continue;
    double l2 = t["timing"]["candidate"]["min_ms"], h2 = t["timing"]["candidate"]["max_ms"];
    if (l2 <= hi && lo <= h2) return true;
  }
  return false;
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

// Writes the data files and scripts, runs gnuplot, and moves each PNG into place. False when
// gnuplot is missing or fails (the report then says so).
bool draw_plots(const fs::path& dir, const Json& r) {
  const Json& trials = r["trials"];
  double base_ms = r["baseline"]["latency"]["median_ms"];
  double base_params = r["baseline"]["params"].get<double>();
  std::ostringstream bars, points, front;
  int n = 0;
  for (const Json& idx : r["chosen"]) {
    const Json& t = trials[idx.get<size_t>()];
    double b = t["timing"]["baseline"]["median_ms"], c = t["timing"]["candidate"]["median_ms"];
    bars << n++ << " " << b / c << " \"" << t["unit"].get<std::string>() << "\"\n";
  }
  if (n == 0) bars << "0 1 \"(none chosen)\"\n";
  struct P {
    double params, latency, ratio;
  };
  std::vector<P> ps{{base_params, base_ms, 1.0}};
  for (const Json& t : trials) {
    if (!t.contains("timing") || !t["timing"]["ok"].get<bool>()) continue;
    double ratio = t["verdict"].contains("mean") ? d(t["verdict"]["mean"]) : 1.0;
    ps.push_back({base_params + t["params_delta"].get<double>(), base_ms - saving(t), ratio});
  }
  const Json& res = r["result"];
  for (size_t i = 1; i < ps.size(); ++i)  // ps[0] is the baseline, drawn on its own
    points << ps[i].params / 1e6 << " " << ps[i].latency << " " << ps[i].ratio << "\n";
  if (ps.size() == 1) points << "nan nan nan\n";
  std::vector<P> sorted = ps;
  std::sort(sorted.begin(), sorted.end(), [](const P& a, const P& b) {
    return a.params < b.params || (a.params == b.params && a.latency < b.latency);
  });
  double best = INFINITY;
  for (const P& p : sorted)
    if (p.latency < best) {
      best = p.latency;
      front << p.params / 1e6 << " " << p.latency << "\n";
    }
  std::string result_point = fmt(res["params"].get<double>() / 1e6, "%.6g") + " " +
                             fmt(res["latency"]["median_ms"].get<double>(), "%.6g");
  // The PNGs are drawn under temporary names and renamed into place.
  TempFile speedup_tmp(temp_name_for((dir / "speedup.png").string()));
  TempFile pareto_tmp(temp_name_for((dir / "pareto.png").string()));
  write_file_atomically((dir / "speedup.dat").string(), bars.str());
  write_file_atomically((dir / "candidates.dat").string(), points.str());
  write_file_atomically((dir / "pareto.dat").string(), front.str());
  auto quoted = [](const fs::path& p) { return "'" + p.string() + "'"; };
  std::string script = "set terminal png size 1100,600\n";
  script += "set output '" + speedup_tmp.path() + "'\n";
  script += "set title 'Kernel speedup of the chosen sequence per unit (baseline / candidate)'\n";
  script += "set style fill solid 0.6\nset boxwidth 0.7\nset ylabel 'speedup'\n";
  script += "set xtics rotate by -45 font ',8'\nset grid ytics\nset yrange [0:*]\n";
  script += "plot " + quoted(dir / "speedup.dat") +
            " using 1:2:xtic(3) with boxes notitle, 1 with lines dt 2 notitle\n";
  // Candidates coloured by their proxy ratio in three bands (the PNG terminal draws no gradient).
  script += "set output '" + pareto_tmp.path() + "'\n";
  script +=
      "set title 'Every timed candidate: network latency (from its kernels) against "
      "parameters'\n";
  script += "set xtics norotate font ''\nset xlabel 'parameters (millions)'\n";
  script += "set ylabel 'latency (ms)'\nset yrange [*:*]\nset key outside right\n";
  script += "cand = " + quoted(dir / "candidates.dat") + "\n";
  script += "plot cand using 1:($3 < 1 ? $2 : 1/0) pt 7 lc rgb '#d62728' title 'proxy ratio < 1', ";
  script +=
      "cand using 1:($3 >= 1 && $3 < 1.05 ? $2 : 1/0) pt 7 lc rgb '#ff9f0e' "
      "title 'ratio 1 to 1.05', ";
  script += "cand using 1:($3 >= 1.05 ? $2 : 1/0) pt 7 lc rgb '#2ca02c' title 'ratio >= 1.05', ";
  script += quoted(dir / "pareto.dat") +
            " using 1:2 with linespoints lw 2 lc rgb 'black' title 'Pareto front', ";
  script += "'-' using 1:2 pt 6 ps 3 lc rgb 'red' title 'searched network (measured)', ";
  script += "'-' using 1:2 pt 4 ps 3 lc rgb 'blue' title 'baseline (measured)'\n";
  script += result_point + "\ne\n" + fmt(base_params / 1e6, "%.6g") + " " + fmt(base_ms, "%.6g") +
            "\ne\n";
  std::string script_path = (dir / "plots.gp").string();
  write_file_atomically(script_path, script);
  bool ok = run_gnuplot(script_path);
  check_interrupted();
  for (auto [tmp, png] : {std::pair<TempFile*, const char*>{&speedup_tmp, "speedup.png"},
                          {&pareto_tmp, "pareto.png"}}) {
    std::error_code ec;
    if (!ok || !fs::exists(tmp->path())) return false;
    fs::rename(tmp->path(), dir / png, ec);
    if (ec) return false;
    tmp->release();
  }
  return true;
}

}  // namespace

std::string report_markdown(const Json& r, bool with_plots) {
  std::ostringstream md;
  const Json& o = r["options"];
  const Json& trials = r["trials"];
  md << "# nasx search: " << r["model"].get<std::string>() << "\n\n";
  md << "Legality rule `" << o.value("rule", legality_rules().front().name) << "`: proxy `"
     << o["proxy"].get<std::string>() << "`, tau " << o["tau"].get<double>() << ", scope "
     << o["scope"].get<std::string>() << ", " << o["samples"].get<int>() << " paired samples of "
     << o["batch"].get<int64_t>() << " images from `" << o["data"].get<std::string>() << "`, seed "
     << o["seed"].get<uint64_t>() << ", max length " << o["max_len"].get<int>() << ", budget "
     << format_duration(r["budget_s"].get<double>())
     << ". Machine: " << r["target"]["cpu"].get<std::string>() << " ("
     << r["target"]["isa"].get<std::string>() << ", " << r["target"]["threads"].get<int>()
     << " threads); inference batch " << o["infer_batch"].get<int64_t>() << ".\n\n";
  const Json& b = r["baseline"];
  const Json& res = r["result"];
  const Json& sp = r["speedup"];
  md << "## Result\n\n";
  md << "| | baseline | searched | change |\n|---|---:|---:|---:|\n";
  md << "| latency, ms: median (min-max) | " << ms(b["latency"]) << " | " << ms(res["latency"])
     << " | **" << fmt(sp["median"].get<double>(), "%.2f") << "x** faster ("
     << fmt(sp["min"].get<double>(), "%.2f") << "-" << fmt(sp["max"].get<double>(), "%.2f")
     << "x) |\n";
  md << "| parameters | " << with_commas(b["params"]) << " | " << with_commas(res["params"])
     << " | " << fmt(res["params"].get<double>() / b["params"].get<double>(), "%.3f") << "x |\n";
  md << "| MACs | " << with_commas(b["macs"]) << " | " << with_commas(res["macs"]) << " | "
     << fmt(res["macs"].get<double>() / b["macs"].get<double>(), "%.3f") << "x |\n\n";
  md << "Baseline and searched network are compiled by the same generator and timed end to end "
        "in the same run, interleaved. The searched network agrees with LibTorch (max relative "
        "error "
     << fmt(res["max_rel_err_vs_libtorch"].get<double>(), "%.3g") << ").";
  if (r["network_verdict"].is_object()) {
    const Json& v = r["network_verdict"];
    md << " Network-scope verdict on the assembled network: ratio " << fmt(d(v["mean"]), "%.3f")
       << " (" << fmt(d(v["min"]), "%.3f") << "-" << fmt(d(v["max"]), "%.3f") << ") against tau "
       << o["tau"].get<double>() << (v["uncertain"].get<bool>() ? ", margin within its spread" : "")
       << ".";
  }
  md << "\n\n## Chosen per unit\n\n";
  if (r["chosen"].empty())
    md << "No legal candidate was faster than the baseline.\n\n";
  else {
    md << "| unit | sequence | proxy ratio mean (min-max) | margin / spread | kernels before, ms | "
          "after, ms | params before -> after | MACs before -> after | note |\n"
          "|---|---|---|---|---:|---:|---|---|---|\n";
    for (const Json& idx : r["chosen"]) {
      size_t i = idx.get<size_t>();
      const Json& t = trials[i];
      const Json* unit = nullptr;
      for (const Json& u : r["units"])
        if (u["name"] == t["unit"]) unit = &u;
      const Json& v = t["verdict"];
      int64_t p0 = (*unit)["params"], m0 = (*unit)["macs"];
      md << "| " << t["unit"].get<std::string>() << " | `" << t["sequence"].get<std::string>()
         << "` | " << fmt(d(v["mean"]), "%.3f") << " (" << fmt(d(v["min"]), "%.3f") << "-"
         << fmt(d(v["max"]), "%.3f") << ") | " << fmt(d(v["margin"]), "%+.3f") << " / "
         << fmt(d(v["spread"]), "%.3f") << " | " << ms(t["timing"]["baseline"]) << " | "
         << ms(t["timing"]["candidate"]) << " | " << with_commas(p0) << " -> "
         << with_commas(p0 + t["params_delta"].get<int64_t>()) << " | " << with_commas(m0) << " -> "
         << with_commas(m0 + t["macs_delta"].get<int64_t>()) << " | "
         << (within_noise(trials, i) ? "within noise" : "")
         << (v["uncertain"].get<bool>() ? " verdict uncertain" : "") << " |\n";
    }
    md << "\nParams and MACs count the unit's layers and the consumers a bottleneck shrinks. "
          "\"within noise\": the timing interval overlaps the baseline's or another candidate's, "
          "so a rerun may choose differently. \"verdict uncertain\": the mean ratio's margin over "
          "tau is inside the spread of its samples.\n\n";
  }
  const Json& c = r["counts"];
  md << "## Counts\n\n| | |\n|---|---:|\n";
  for (const char* k : {"units", "generated", "duplicates", "candidates", "rejected_by_shape",
                        "skipped_by_estimate", "not_judged", "judged", "verdicts_computed", "legal",
                        "illegal", "timed", "failed"})
    md << "| " << k << " | " << c[k].get<int64_t>() << " |\n";
  md << "\nRejected by kind:";
  for (const auto& [k, v] : c["rejected_by_kind"].items())
    md << " " << k << " " << v.get<int64_t>() << ";";
  md << "\n\n## Time per phase\n\n| phase | seconds |\n|---|---:|\n";
  for (const auto& [k, v] : r["seconds"].items())
    md << "| " << k << " | " << fmt(v.get<double>(), "%.1f") << " |\n";
  md << "\n## Not explored\n\n";
  if (r["unexplored_units"].empty())
    md << "Every unit was explored.";
  else {
    md << r["unexplored_units"].size() << " units were not explored within the budget:";
    for (const Json& u : r["unexplored_units"]) md << " " << u.get<std::string>() << ";";
  }
  md << " " << c["skipped_by_estimate"].get<int64_t>()
     << " candidates were estimated to save under 2% of their unit's MACs and not judged; "
     << c["not_judged"].get<int64_t>()
     << " more were left after the per-unit bisection or the budget.\n";
  if (!r["backed_off"].empty() || !r["conflicts"].empty()) {
    md << "\n## Backed off at assembly\n\n";
    for (const Json& x : r["backed_off"])
      md << "- " << x["unit"].get<std::string>() << " `" << x["sequence"].get<std::string>()
         << "`: the smallest assembly that still held it had a network ratio of "
         << fmt(d(x["network_ratio_with_it"]), "%.3f") << "\n";
    for (const Json& x : r["conflicts"])
      md << "- " << x["unit"].get<std::string>() << " `" << x["sequence"].get<std::string>()
         << "`: does not compose: " << x["reason"].get<std::string>() << "\n";
  }
  const Json& failures = trials;
  bool any_failed = false;
  for (const Json& t : failures)
    if (t.contains("timing") && !t["timing"]["ok"].get<bool>()) {
      if (!any_failed) md << "\n## Failed candidates (skipped)\n\n";
      any_failed = true;
      md << "- " << t["unit"].get<std::string>() << " `" << t["sequence"].get<std::string>()
         << "`: " << t["timing"]["error"].get<std::string>() << "\n";
    }
  md << "\n## Plots\n\n";
  if (with_plots)
    md << "![per-unit speedup](speedup.png)\n\n![latency against parameters](pareto.png)\n";
  else
    md << "Not drawn: gnuplot is missing or failed (scripts/install-deps.sh installs "
          "gnuplot-nox). The data are in speedup.dat, candidates.dat and pareto.dat.\n";
  md << "\nFiles: `arch.json` (replayable: `nasx check`, `nasx legal`, `nasx bench` take it), "
        "`report.json`, the journal (`verdicts.jsonl`, `records.jsonl`, `baseline.json`).\n";
  return md.str();
}

void write_report(const std::string& dir, const Json& report) {
  fs::path d(dir);
  write_file_atomically((d / "report.json").string(), report.dump(2) + "\n");
  bool plots = draw_plots(d, report);
  if (!plots) log(LogLevel::Warn, "warning: plots not drawn (gnuplot missing or failed)");
  write_file_atomically((d / "report.md").string(), report_markdown(report, plots));
}

}  // namespace nasx
