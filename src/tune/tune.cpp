#include "tune/tune.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include "codegen/toolchain.h"
#include "lower/pipeline.h"
#include "runtime/layouts.h"
#include "support/cpu.h"
#include "support/hash.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "tune/measure.h"
#include "tune/target.h"
#include "tune/worker.h"

namespace nasx {
namespace {

// Whether every statement of the instance's conv takes the blocked template.
bool blocked(const OpInstance& inst) {
  return blocked_conv(inst.op, inst.layouts, target_isa().lanes);
}

}  // namespace

std::string default_records_path() {
  return (ToolchainConfig::from_env().cache_dir / "tuning.jsonl").string();
}

TuneSummary tune_network(const Network& net, int64_t batch, RecordStore& records,
                         const TuneOptions& options) {
  const Isa& isa = target_isa();
  TuneSummary summary;
  if (isa.lanes == 0) {
    log(LogLevel::Warn, "tune: no vector ISA on this CPU; nothing to tune");
    return summary;
  }
  NetworkKernels plan = network_kernels(net, batch);
  const Network& executed = plan.executed;
  const std::vector<OpInstance>& instances = plan.instances;

  // The distinct kernels: the workload of the rule's variant names each.
  std::vector<std::pair<std::string, size_t>> kernels;  // (kernel, node)
  std::set<std::string> seen;
  for (size_t i = 0; i < instances.size(); ++i) {
    if (!blocked(instances[i])) continue;
    std::string kernel = kernel_key(instances[i]);
    if (seen.insert(kernel).second) kernels.push_back({kernel, i});
  }
  summary.kernels = static_cast<int>(kernels.size());

  auto start = std::chrono::steady_clock::now();
  Progress progress("tune", summary.kernels);
  for (const auto& [kernel, node] : kernels) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (summary.tuned > 0 && elapsed > options.budget_seconds) {
      log(LogLevel::Warn, "tune: budget spent; ", summary.kernels - summary.tuned,
          " kernels keep the rule's knobs (run again to go on)");
      break;
    }
    check_interrupted();
    const OpInstance& base = instances[node];
    const ConvProgram& p = *conv_program_of(base.op);
    std::vector<std::vector<ConvKnobs>> spaces;
    std::vector<ConvKnobs> rule;
    for (size_t s = 0; s < p.statements.size(); ++s) {
      spaces.push_back(conv_knob_space(p, s, knob_target()));
      rule.push_back(default_conv_knobs(p, s, knob_target()));
    }
    std::vector<std::vector<ConvKnobs>> variants{rule};
    std::set<std::string> chosen{knobs_to_string(rule)};
    std::mt19937_64 rng(options.seed ^ std::hash<std::string>()(kernel));
    for (int tries = 0;
         tries < 20 * options.variants && static_cast<int>(variants.size()) <= options.variants;
         ++tries) {
      std::vector<ConvKnobs> v;
      for (const auto& space : spaces)
        v.push_back(space[std::uniform_int_distribution<size_t>(0, space.size() - 1)(rng)]);
      if (chosen.insert(knobs_to_string(v)).second) variants.push_back(v);
    }
    std::vector<MeasureRequest> requests;
    for (const auto& v : variants) {
      OpInstance inst = base;
      inst.knobs = v;
      std::string choice = knobs_to_string(v);
      requests.push_back(
          {inst, executed.nodes[node].name + " " + choice, false, "", kernel, choice});
    }
    size_t known = records.size();
    std::vector<MeasureRecord> got = measure_ops(requests, records);
    summary.measured += static_cast<int>(records.size() - known);  // new workloads only
    const MeasureRecord* best = records.best(kernel);
    if (got.front().ok() && best) {
      summary.rule_ms += got.front().stats.median_ms;
      summary.best_ms += best->stats.median_ms;
    }
    if (!best) {  // every variant failed: nothing was tuned, whatever the records say
      ++summary.failed;
      if (summary.first_error.empty())
        summary.first_error = executed.nodes[node].name + ": " + got.front().error;
      // Nothing measurable after three kernels: the worker, not the kernels, is failing.
      NASX_USER_CHECK(summary.tuned > 0 || summary.failed < 3, "tune: every measurement failed (",
                      summary.first_error, "); the measurement worker (", worker_path(),
                      ") cannot time kernels here");
      progress.step(executed.nodes[node].name + " failed");
      continue;
    }
    ++summary.tuned;
    progress.step(executed.nodes[node].name + (best ? " best " + best->choice : ""));
  }
  progress.finish();
  NASX_USER_CHECK(summary.tuned > 0 || summary.failed == 0, "tune: every measurement failed (",
                  summary.first_error, ")");
  return summary;
}

DefaultTuning::DefaultTuning() {
  std::string path = default_records_path();
  if (std::filesystem::is_regular_file(path)) records_.emplace(path, detect_target());
}

Json DefaultTuning::identity() const {
  if (!records_ || records_->size() == 0) return nullptr;
  return Json{
      {"records", records_->path()}, {"entries", records_->size()}, {"digest", records_->digest()}};
}

KnobChooser apply_records(const RecordStore& records) {
  return [&records](OpInstance& inst) {
    if (!blocked(inst)) return;
    const MeasureRecord* best = records.best(kernel_key(inst));
    if (!best) return;
    // A record edited by hand or by another nasx: its knobs are refused by name, with the file
    // (before: "bad knobs" without saying where they came from).
    try {
      inst.knobs = knobs_from_string(best->choice);
    } catch (const UserError& e) {
      user_error("tuning records ", records.path(), ": the record of '", best->label, "' (",
                 e.what(), "); remove that line, or the file, to time the kernel again");
    }
  };
}

}  // namespace nasx
