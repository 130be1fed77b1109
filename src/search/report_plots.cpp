// The report as three gnuplot plots: each writes its data files and returns the gnuplot commands
// that draw it; draw_plots runs one script for all three and moves the PNGs into place.
#include "search/report_plots.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "search/report_format.h"
#include "support/file.h"
#include "support/format.h"
#include "support/interrupt.h"
#include "support/temp_files.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;
using report_detail::rule_text;
using report_detail::tau_of;

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

}  // namespace

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

}  // namespace nasx
