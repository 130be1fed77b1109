// What the report's files share (report_json.cpp, report.cpp, report_plots.cpp): the order of
// the counters, and the rule as the Markdown and the plots name it. Internal to src/search.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "search/report.h"
#include "support/format.h"
#include "support/json.h"

namespace nasx::report_detail {

// The counters of SearchCounts, in the order report.json and report.md list them.
inline const std::pair<const char*, int64_t SearchCounts::*> kCounters[] = {
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

// The object, or an empty one (options, rule and target are free-form JSON).
inline Json object_or_empty(const Json& j) {
  return j.is_object() ? j : Json::object();
}

inline double tau_of(const SearchReport& r) {
  return object_or_empty(r.rule).value("tau", 1.0);
}

// "rule calibrated (tau 0.7)"
inline std::string rule_text(const SearchReport& r) {
  return "rule " + object_or_empty(r.rule).value("name", "?") + " (tau " + fmt(tau_of(r), "%g") +
         ")";
}

}  // namespace nasx::report_detail
