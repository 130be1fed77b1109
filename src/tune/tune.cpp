#include "tune/tune.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include "codegen/toolchain.h"
#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "lower/pipeline.h"
#include "runtime/layouts.h"
#include "support/cpu.h"
#include "support/hash.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "tune/measure.h"
#include "tune/target.h"

namespace nasx {
namespace {

const ConvProgram* conv_of(const Op& op) {
  if (const auto* p = std::get_if<ConvProgram>(&op)) return p;
  if (const auto* f = std::get_if<FusedConv>(&op)) return &f->program;
  return nullptr;
}

// Whether every statement of the instance's conv takes the blocked template.
bool blocked_conv(const OpInstance& inst) {
  if (!conv_of(inst.op) || inst.layouts.empty()) return false;
  LoweredKernel k = lower(inst.op, inst.inputs, "k", lower_options(inst));
  for (const std::string& t : k.templates)
    if (t.rfind("blocked", 0) != 0) return false;
  return !k.templates.empty();
}

}  // namespace

std::string knobs_to_string(const std::vector<ConvKnobs>& knobs) {
  std::string s;
  for (const ConvKnobs& k : knobs)
    s += (s.empty() ? "" : ";") + std::to_string(k.oc_v) + "," + std::to_string(k.oh_t) + "," +
         std::to_string(k.ow_t);
  return s;
}

std::vector<ConvKnobs> knobs_from_string(const std::string& text) {
  std::vector<ConvKnobs> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ';');) {
    ConvKnobs k;
    char c1 = 0, c2 = 0;
    std::stringstream is(item);
    NASX_USER_CHECK(is >> k.oc_v >> c1 >> k.oh_t >> c2 >> k.ow_t && c1 == ',' && c2 == ',',
                    "tuning record: bad knobs '", text, "'");
    out.push_back(k);
  }
  return out;
}

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
  Network executed = fuse_epilogues(fold_batch_norm(net));
  std::vector<Shape> shapes = executed.infer_shapes(batch);
  NetworkLayouts layouts = assign_layouts(executed, shapes, isa.lanes);
  std::vector<OpInstance> instances = network_instances(executed, shapes, batch, layouts);

  // The distinct kernels: the workload of the rule's variant names each.
  std::vector<std::pair<std::string, size_t>> kernels;  // (group, node)
  std::set<std::string> seen;
  for (size_t i = 0; i < instances.size(); ++i) {
    if (!blocked_conv(instances[i])) continue;
    std::string group = workload_key(instances[i]);
    if (seen.insert(group).second) kernels.push_back({group, i});
  }
  summary.kernels = static_cast<int>(kernels.size());

  auto start = std::chrono::steady_clock::now();
  Progress progress("tune", summary.kernels);
  for (const auto& [group, node] : kernels) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (summary.tuned > 0 && elapsed > options.budget_seconds) {
      log(LogLevel::Warn, "tune: budget spent; ", summary.kernels - summary.tuned,
          " kernels keep the rule's knobs (run again to go on)");
      break;
    }
    check_interrupted();
    const OpInstance& base = instances[node];
    const ConvProgram& p = *conv_of(base.op);
    std::vector<std::vector<ConvKnobs>> spaces;
    std::vector<ConvKnobs> rule;
    for (size_t s = 0; s < p.statements.size(); ++s) {
      spaces.push_back(conv_knob_space(p, s, isa.lanes, isa.registers));
      rule.push_back(default_conv_knobs(p, s, isa.lanes, isa.registers));
    }
    std::vector<std::vector<ConvKnobs>> variants{rule};
    std::set<std::string> chosen{knobs_to_string(rule)};
    std::mt19937_64 rng(options.seed ^ std::hash<std::string>()(group));
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
          {inst, executed.nodes[node].name + " " + choice, false, "", group, choice});
    }
    for (const MeasureRequest& r : requests)
      if (!records.find(workload_key(r.op))) ++summary.measured;
    std::vector<MeasureRecord> got = measure_ops(requests, records);
    const MeasureRecord* best = records.best(group);
    if (got.front().ok() && best) {
      summary.rule_ms += got.front().stats.median_ms;
      summary.best_ms += best->stats.median_ms;
    }
    ++summary.tuned;
    progress.step(executed.nodes[node].name + (best ? " best " + best->choice : ""));
  }
  progress.finish();
  return summary;
}

DefaultTuning::DefaultTuning() {
  std::string path = default_records_path();
  if (std::filesystem::is_regular_file(path)) records_.emplace(path, detect_target());
}

KnobChooser apply_records(const RecordStore& records) {
  return [&records](OpInstance& inst) {
    if (!blocked_conv(inst)) return;
    if (const MeasureRecord* best = records.best(workload_key(inst)))
      inst.knobs = knobs_from_string(best->choice);
  };
}

}  // namespace nasx
