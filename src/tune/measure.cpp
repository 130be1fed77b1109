#include "tune/measure.h"

#include <map>

#include "codegen/module.h"
#include "support/interrupt.h"

namespace nasx {
namespace {

struct Lowered {
  LoweredKernel kernel;
  std::string workload;
  std::vector<int64_t> arg_floats;
};

Lowered lower_instance(const OpInstance& op, const std::string& name) {
  std::shared_ptr<const IdentifiedKernel> k = identify(op);
  Lowered l{k->kernel, k->key, {}};
  l.kernel.name = name;
  for (const ir::Buffer& b : l.kernel.args) l.arg_floats.push_back(b->physical_size());
  return l;
}

}  // namespace

std::vector<MeasureRecord> measure_ops(const std::vector<MeasureRequest>& requests,
                                       RecordStore& records, const WorkerOptions& options) {
  // Lower everything; the kernels to measure are the distinct workloads that need a record.
  std::vector<std::string> workload(requests.size());
  std::vector<Lowered> todo;
  std::vector<std::string> fault_of;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < requests.size(); ++i) {
    Lowered l = lower_instance(requests[i].op, "nasx_measure" + std::to_string(todo.size()));
    workload[i] = l.workload;
    if (index.count(l.workload) || (!requests[i].fresh && records.find(l.workload))) continue;
    index[l.workload] = todo.size();
    fault_of.push_back(requests[i].fault);
    todo.push_back(std::move(l));
  }
  auto request_of = [&](const std::string& w) -> const MeasureRequest& {
    for (size_t i = 0; i < requests.size(); ++i)
      if (workload[i] == w) return requests[i];
    return requests.front();
  };
  auto fail = [&](const Lowered& l, const std::string& why) {
    const MeasureRequest& q = request_of(l.workload);
    records.add(MeasureRecord{l.workload, q.label, "failed", why, q.variant_of, q.choice, {}});
  };

  // Compile all in one library; when that fails, one library each, so only the guilty fail.
  std::vector<std::pair<std::string, std::vector<size_t>>> libraries;
  std::map<std::string, MeasureRecord> transient;
  std::vector<LoweredKernel> kernels;
  for (const Lowered& l : todo) kernels.push_back(l.kernel);
  if (!kernels.empty()) {
    try {
      libraries.push_back({CompiledModule::build(kernels).library_path(), {}});
      for (size_t k = 0; k < todo.size(); ++k) libraries.back().second.push_back(k);
    } catch (const CompileError&) {
      check_interrupted();  // a compiler killed by Ctrl-C is no verdict on the code
      for (size_t k = 0; k < todo.size(); ++k) {
        try {
          libraries.push_back({CompiledModule::build({todo[k].kernel}).library_path(), {k}});
        } catch (const CompileError& e) {
          check_interrupted();
          std::string what = e.what();
          fail(todo[k], "compile error: " + what.substr(0, 400));
        }
      }
    }
  }
  for (const auto& entry : libraries) {
    // (no structured binding: clang 14 cannot capture one in the lambda below)
    const std::string& library = entry.first;
    const std::vector<size_t>& members = entry.second;
    std::vector<KernelJob> jobs;
    for (size_t k : members) jobs.push_back({todo[k].kernel.name, todo[k].arg_floats, fault_of[k]});
    run_in_worker(library, jobs, options, [&](size_t j, const JobResult& r) {
      const Lowered& l = todo[members[j]];
      const MeasureRequest& q = request_of(l.workload);
      MeasureRecord m{l.workload, q.label, r.ok ? "ok" : "failed", r.error, q.variant_of,
                      q.choice,   r.stats};
      if (r.transient)
        transient[l.workload] = m;  // reported, not recorded
      else
        records.add(m);
    });
  }
  std::vector<MeasureRecord> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (auto t = transient.find(workload[i]); t != transient.end()) {
      out.push_back(t->second);
      continue;
    }
    const MeasureRecord* r = records.find(workload[i]);
    NASX_ASSERT(r, "no record for ", requests[i].label);
    out.push_back(*r);
  }
  return out;
}

}  // namespace nasx
