// The search's outputs, from its report JSON alone: report.json, report.md (per unit: chosen
// sequence, proxy ratio mean and spread, latency before and after, params and MACs before and
// after; totals; end-to-end speedup with spread; time per phase; counts), and two plots drawn with
// gnuplot (Debian's gnuplot-nox): speedup.png (per-unit kernel speedup of the chosen sequences)
// and pareto.png (network latency against parameters for every timed candidate, coloured by its
// proxy ratio, the Pareto front marked). Every file is written atomically. Without gnuplot the
// report says so instead of linking the plots.
#pragma once

#include <string>

#include "support/json.h"

namespace nasx {

void write_report(const std::string& dir, const Json& report);

// Markdown of the report (what report.md holds).
std::string report_markdown(const Json& report, bool with_plots);

}  // namespace nasx
