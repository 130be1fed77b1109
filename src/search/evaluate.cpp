#include "search/evaluate.h"

#include <set>

#include "runtime/compiled_network.h"
#include "tune/measure.h"
#include "tune/tune.h"

namespace nasx {

std::map<std::string, OpInstance> executed_kernels(const Network& net, int64_t batch) {
  // The kernels exactly as CompiledNetwork compiles them: layouts, and tuned knobs where the
  // default tuning records have them.
  static const DefaultTuning tuning;
  KnobChooser knobs = tuning.chooser();
  NetworkKernels k = network_kernels(net, batch);
  std::map<std::string, OpInstance> out;
  for (size_t i = 0; i < k.executed.nodes.size(); ++i) {
    if (knobs) knobs(k.instances[i]);
    out.emplace(k.executed.nodes[i].name, std::move(k.instances[i]));
  }
  return out;
}

namespace {

TimingStats add(TimingStats a, const TimingStats& b) {
  a.median_ms += b.median_ms;
  a.min_ms += b.min_ms;
  a.max_ms += b.max_ms;
  a.repeats = b.repeats;
  return a;
}

}  // namespace

std::vector<CandidateTiming> time_candidates(const std::map<std::string, OpInstance>& baseline,
                                             const std::vector<TimingJob>& jobs,
                                             RecordStore& records, const WorkerOptions& options) {
  // Which executed kernels each candidate changes.
  std::vector<CandidateTiming> out(jobs.size());
  std::vector<std::vector<OpInstance>> changed(jobs.size());
  std::set<std::string> base_names;
  for (size_t j = 0; j < jobs.size(); ++j) {
    for (const auto& [name, inst] : jobs[j].kernels) {
      auto it = baseline.find(name);
      if (it != baseline.end() && kernel_key(it->second) == kernel_key(inst)) continue;
      out[j].kernels.push_back(name);
      changed[j].push_back(inst);
      if (it != baseline.end()) base_names.insert(name);
    }
  }
  // Baseline kernels first, then each candidate's; fresh baselines only when something is new.
  std::vector<MeasureRequest> requests;
  for (const std::string& name : base_names)
    requests.push_back({baseline.at(name), name + " (baseline)", false, "", "", ""});
  bool anything_new = false;
  for (size_t j = 0; j < jobs.size(); ++j)
    for (size_t k = 0; k < changed[j].size(); ++k) {
      requests.push_back(
          {changed[j][k], out[j].kernels[k] + " " + jobs[j].label, false, jobs[j].fault, "", ""});
      anything_new = anything_new || !records.find(kernel_key(changed[j][k]));
    }
  for (size_t i = 0; i < base_names.size(); ++i) {
    const MeasureRecord* r = records.find(kernel_key(requests[i].op));
    requests[i].fresh = anything_new || !r || !r->ok();  // a failed baseline is measured again
  }
  std::vector<MeasureRecord> measured = measure_ops(requests, records, options);

  std::map<std::string, MeasureRecord> base_record;
  size_t r = 0;
  for (const std::string& name : base_names) base_record[name] = measured[r++];
  for (size_t j = 0; j < jobs.size(); ++j) {
    CandidateTiming& t = out[j];
    t.ok = true;
    t.shared = !anything_new;
    for (size_t k = 0; k < changed[j].size(); ++k, ++r) {
      const MeasureRecord& m = measured[r];
      if (!m.ok()) {
        t.ok = false;
        t.error = t.kernels[k] + ": " + m.error;
        continue;
      }
      t.candidate = add(t.candidate, m.stats);
      t.per_kernel[t.kernels[k]] = {0.0, m.stats.median_ms};
      auto b = base_record.find(t.kernels[k]);
      if (b == base_record.end()) continue;  // a node the baseline does not have
      if (!b->second.ok()) {
        t.ok = false;
        t.error = t.kernels[k] + " (baseline): " + b->second.error;
        continue;
      }
      t.baseline = add(t.baseline, b->second.stats);
      t.per_kernel[t.kernels[k]].first = b->second.stats.median_ms;
    }
  }
  return out;
}

}  // namespace nasx
