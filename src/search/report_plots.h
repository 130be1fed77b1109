// The report's three gnuplot plots (report.h): pareto.png, trajectory.png and speedup.png, with
// their data files and script. Internal to src/search (write_report draws them).
#pragma once

#include <filesystem>

#include "search/report.h"

namespace nasx {

// Writes the data files and the script, runs gnuplot, and moves each PNG, drawn under a temporary
// name, into place. False when gnuplot is missing or fails (the report then says so).
bool draw_plots(const std::filesystem::path& dir, const SearchReport& r);

}  // namespace nasx
