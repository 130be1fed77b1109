#include "search/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "codegen/toolchain.h"
#include "graph/arch.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "runtime/compiled_network.h"
#include "search/evaluate.h"
#include "search/legality.h"
#include "search/report.h"
#include "search/space.h"
#include "support/file.h"
#include "support/file_lock.h"
#include "support/hash.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "torch/twin.h"
#include "transform/sequence.h"
#include "tune/measure.h"
#include "tune/tune.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

// A JSON file of the search folder: null when it is absent, a discarded value when it does not
// parse (the caller warns and redoes its part); a directory, FIFO or device is the user's error
// (a FIFO would hang the read).
Json read_folder_json(const fs::path& file) {
  if (!fs::exists(fs::symlink_status(file))) return Json();
  check_regular_file(file.string(), "a file of the search folder");
  std::ifstream f(file);
  return Json::parse(f, nullptr, false);
}
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void validate(const SearchOptions& o) {
  NASX_USER_CHECK(std::isfinite(o.budget_s) && o.budget_s > 0, "--budget must be positive");
  NASX_USER_CHECK(o.batch >= 1 && o.batch <= 4096, "--batch must be in [1, 4096], got ", o.batch);
  NASX_USER_CHECK(o.max_len >= 1 && o.max_len <= 3,
                  "--max-len must be 1, 2 or 3 (the grammar has three parts), got ", o.max_len);
  NASX_USER_CHECK(o.judges_per_unit >= 0 && o.judges_per_unit <= 1000,
                  "--judges-per-unit must be in [0, 1000] (0: share the budget), got ",
                  o.judges_per_unit);
  // The rule's fields: checked again, for callers that built it by hand.
  RuleOverrides check{o.rule.proxy_list(), o.rule.tau, o.rule.samples, o.rule.scope};
  resolve_rule(legality_rules().front().name, check);
  DatasetSpec::parse(o.data);
}

// The output directory: created, writable, locked for this process (`lock`), and either new or
// holding this same search. True when the directory holds this search already.
bool prepare_directory(const SearchOptions& o, FileLock& lock) {
  fs::path dir(o.out_dir);
  std::error_code ec;
  if (fs::exists(dir, ec))
    NASX_USER_CHECK(fs::is_directory(dir, ec), "--out ", o.out_dir,
                    " exists and is not a directory");
  fs::create_directories(dir, ec);
  NASX_USER_CHECK(!ec, "cannot create the output directory ", o.out_dir, ": ", ec.message());
  fs::path probe = dir / ".nasx-write-test";
  {
    std::ofstream f(probe);
    f << "ok";
    NASX_USER_CHECK(f.good(), "the output directory ", o.out_dir, " is not writable");
  }
  fs::remove(probe, ec);
  // A folder without a search: nasx writes into it only when it is new or empty, or holds what a
  // user may seed a search with (its journal files); anything else is the user's (before: a
  // search wrote 13 files there and replaced the user's report.md).
  if (!fs::exists(dir / "search.json"))
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      bool seed = name == "records.jsonl" || name == "baseline.json" || name == "verdicts.jsonl" ||
                  name == ".nasx-lock" || name.find(".tmp.") != std::string::npos;
      NASX_USER_CHECK(seed, "--out ", o.out_dir, " holds ", name,
                      " but no search (search.json): choose a new or empty folder");
    }
  lock = lock_search_folder(o.out_dir);
  fs::path identity = dir / "search.json";
  Json mine = o.identity();
  if (fs::exists(identity)) {
    std::ifstream f(identity);
    Json theirs = Json::parse(f, nullptr, false);
    NASX_USER_CHECK(!theirs.is_discarded() && theirs.is_object(), identity.string(),
                    " is not a search's identity file; use another --out");
    for (const auto& [key, value] : mine.items()) {
      NASX_USER_CHECK(key != "tuning" || (theirs.contains(key) && theirs[key] == value), o.out_dir,
                      " holds a search made with other tuning records (",
                      theirs.contains(key) ? theirs[key].dump() : "none", ", now ", value.dump(),
                      "): `nasx tune` ran since, so its baseline and candidates would take other "
                      "knobs; choose another --out, or remove ",
                      o.out_dir, " to start afresh");
      NASX_USER_CHECK(theirs.contains(key) && theirs[key] == value, o.out_dir,
                      " holds a search with a different command line (", key, " was ",
                      theirs.contains(key) ? theirs[key].dump() : "absent", ", now ", value.dump(),
                      "); run it with the same options to resume, or choose another --out");
    }
    // Records that were used and are gone now: the same refusal.
    NASX_USER_CHECK(!theirs.contains("tuning") || mine.contains("tuning"), o.out_dir,
                    " holds a search made with tuning records (", theirs["tuning"].dump(),
                    ") that are gone now; choose another --out, or remove ", o.out_dir,
                    " to start afresh");
    return true;
  }
  // The kernel cache must work before the folder becomes a search's (before: an unwritable cache
  // failed later and left search.json behind).
  check_kernel_cache(ToolchainConfig::from_env());
  write_file_atomically(identity.string(), mine.dump(2) + "\n");
  return false;
}

Arch base_arch_of(const SearchOptions& o) {
  Arch a;
  if (is_arch_path(o.model)) {
    a = Arch::read(o.model);
  } else {
    NASX_USER_CHECK(!o.model.empty(), "no model given");
    a.base = arch_base(o.model);  // an .onnx file by its absolute path
  }
  a.seed = o.seed;
  if (o.width > 0) a.width = o.width;
  return a;
}

std::string model_identity(const Arch& a) {
  Arch copy = a;
  copy.seed = 0;
  copy.applied.clear();
  std::string contents = copy.to_json().dump();
  // An imported model is its file's contents, not its path: a changed file is another search.
  if (!is_zoo_model(a.base)) contents += read_file(a.base, "an ONNX model", size_t(1) << 31);
  return a.base + ":" + content_hash(contents);
}

TimingStats interleaved(CompiledNetwork& a, CompiledNetwork& b, const Tensor& input, int rounds,
                        TimingStats& b_stats) {
  std::vector<double> sa, sb;
  Tensor out_a(a.output_shape()), out_b(b.output_shape());
  for (int w = 0; w < 3; ++w) {
    a.run(input.data.data(), out_a.data.data());
    b.run(input.data.data(), out_b.data.data());
  }
  for (int r = 0; r < rounds; ++r) {
    check_interrupted();
    auto t0 = Clock::now();
    a.run(input.data.data(), out_a.data.data());
    auto t1 = Clock::now();
    b.run(input.data.data(), out_b.data.data());
    auto t2 = Clock::now();
    sa.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    sb.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  b_stats = summarize(sb);
  return summarize(sa);
}

}  // namespace

Json SearchOptions::identity() const {
  Json id{{"model", model},
          {"seed", seed},
          {"data", data},
          {"batch", batch},
          {"proxy", rule.proxy_list()},
          {"tau", rule.tau},
          {"scope", rule.scope},
          {"samples", rule.samples},
          {"max_len", max_len},
          {"layers", layers},
          {"judges_per_layer", judges_per_unit},
          {"infer_batch", infer_batch}};
  // Absent at the default (1, or not given: the same network), so older directories resume.
  if (width > 0 && width != 1) id["width"] = width;
  if (rule.name != legality_rules().front().name) id["rule"] = rule.name;  // likewise
  // The tuning records the baseline and the candidates take their knobs from (`nasx tune`):
  // another set of records is another search. Absent when there are none, as before.
  if (Json t = DefaultTuning().identity(); !t.is_null()) id["tuning"] = t;
  return id;
}

namespace {

// ---- the phases' values ----

struct Setup {
  Clock::time_point start;
  bool existing = false;  // the directory held this search already
  Arch base_arch;
  Network base;
  std::vector<std::string> layers;
  fs::path dir;
  FileLock lock;  // one search per folder at a time
  RecordStore records;
  PairedJudge judge;
};

struct Baseline {
  CompiledNetwork compiled;
  double compile_s = 0;
  Tensor input;
  TimingStats time;                           // end to end
  std::map<std::string, OpInstance> kernels;  // executed, by node
  std::map<std::string, double> kernel_ms;    // measured in the worker
};

struct Space {
  std::vector<SearchUnit> units;
  SpaceCounts counts;
  int64_t candidates = 0;
};

struct Assembly {
  Assignment assignment;
  PairedVerdict verdict;
  bool backoff_acted = false;
  std::vector<std::string> backed_off;
};

struct Verified {
  Arch arch;
  Network network;
  Agreement agreement;
  TimingStats baseline_time, time;  // interleaved, in one run
};

// ---- 1. setup ----
Setup setup(const SearchOptions& o) {
  auto start = Clock::now();
  validate(o);
  Arch base_arch = base_arch_of(o);
  Network base = base_arch.build();  // UserError for an unknown model, before any file is written
  load_minibatch(DatasetSpec::parse(o.data), base.input_chw, base.num_classes, 1, o.seed);
  std::vector<std::string> layers = match_conv_layers(base, o.layers);
  FileLock lock;
  bool existing = prepare_directory(o, lock);
  install_interrupt_handlers();
  fs::path dir(o.out_dir);
  return Setup{start,
               existing,
               base_arch,
               std::move(base),
               layers,
               dir,
               std::move(lock),
               RecordStore((dir / "records.jsonl").string(), detect_target()),
               make_arch_judge(base_arch, model_identity(base_arch), DatasetSpec::parse(o.data),
                               o.rule, o.batch, o.seed, (dir / "verdicts.jsonl").string())};
}

// ---- 2. baseline ----
Baseline baseline(const SearchOptions& o, Setup& s) {
  Progress bp("baseline", 2);
  auto t_compile = Clock::now();
  DefaultTuning tuning;  // kernels with `nasx tune` records take their best knobs
  Baseline b{CompiledNetwork::compile(s.base, o.infer_batch, tuning.chooser()),
             0,
             Tensor::random_normal(s.base.input_shape(o.infer_batch), o.seed + 1),
             {},
             {},
             {}};
  b.compile_s = since(t_compile);
  // The end-to-end time and every kernel's, journaled: a resumed search decides from the same
  // baseline as the run it continues.
  fs::path file = s.dir / "baseline.json";
  Json j = read_folder_json(file);
  b.kernels = executed_kernels(s.base, o.infer_batch);
  // Journaled when it holds a time and one number per kernel of this network; anything else (a
  // torn or edited file) is said and timed again.
  bool journaled = false;
  if (j.is_object()) {
    try {
      JsonIn in(j, file.string());
      std::map<std::string, double> kernel_ms;
      for (const auto& [name, ms] : in.entries("kernels")) kernel_ms[name] = ms.as_real();
      TimingStats time = timing_from_json(in);
      journaled = std::isfinite(time.median_ms) && kernel_ms.size() == b.kernels.size();
      for (const auto& [name, ms] : kernel_ms) journaled = journaled && b.kernels.count(name);
      if (journaled) {
        b.time = time;
        b.kernel_ms = kernel_ms;
      }
    } catch (const UserError&) {
    }
  }
  if (!journaled && !j.is_null())
    log(LogLevel::Warn, "warning: ", file.string(),
        " is not the baseline of this network: timing the baseline again");
  if (!journaled) {
    Tensor out(b.compiled.output_shape());
    b.time = measure([&] { b.compiled.run(b.input.data.data(), out.data.data()); }, 3, 20);
  }
  bp.step("compiled in " + format_duration(b.compile_s) + ", " + std::to_string(b.time.median_ms) +
          " ms end to end");
  if (!journaled) {
    std::vector<MeasureRequest> req;
    for (auto& [name, inst] : b.kernels)
      req.push_back({inst, name + " (baseline)", true, "", "", ""});
    std::vector<MeasureRecord> m = measure_ops(req, s.records);
    size_t i = 0;
    Json kernels = Json::object();
    for (auto& [name, inst] : b.kernels) {
      NASX_USER_CHECK(m[i].ok(), "the baseline's kernel ", name, " failed: ", m[i].error);
      kernels[name] = b.kernel_ms[name] = m[i++].stats.median_ms;
    }
    Json out = timing_json(b.time);
    out["kernels"] = kernels;
    write_file_atomically(file.string(), out.dump() + "\n");
  }
  bp.finish("kernels timed");
  NASX_USER_CHECK(o.budget_s - since(s.start) > 0, "--budget ", format_duration(o.budget_s),
                  " is too small: compiling and timing the baseline alone took ",
                  format_duration(since(s.start)));
  return b;
}

// ---- 3. space ----
Space space(const SearchOptions& o, const Setup& s) {
  Space sp;
  sp.units = build_search_space(s.base, s.layers, o.max_len, o.seed, sp.counts);
  for (const SearchUnit& u : sp.units) sp.candidates += int64_t(u.candidates.size());
  return sp;
}

// ---- 4. explore ----
Exploration explore_space(const SearchOptions& o, Setup& s, const Baseline& b, const Space& sp) {
  // Kept for assembly (the guard's verdict, cached unless it must back off) and verification
  // (two compilations, the check against LibTorch, the interleaved timing).
  auto reserve = [&] {
    double judge_s = s.judge.seconds_per_sample() * o.rule.samples;
    return 2 * b.compile_s + 2 * judge_s + 2 * b.time.median_ms * o.final_repeat / 1e3 + 5;
  };
  ExploreContext ctx{
      s.base,        sp.units,          s.judge,
      o.rule.tau,    o.rule.scope,      o.rule.samples,
      o.seed,        b.kernels,         b.kernel_ms,
      o.infer_batch, b.time.median_ms,  s.records,
      o.faults,      o.judges_per_unit, [&] { return o.budget_s - since(s.start) - reserve(); }};
  return explore(ctx);
}

// ---- 5. assemble: the guard ----
// The network as explored is legal by construction: its verdict is the last one accepted (from
// the cache). Should it fail, the latest choices are backed off to the last state that passed.
Assembly assemble(const SearchOptions& o, Setup& s, const Space& sp, const Exploration& x) {
  Progress ap("assemble", 1);
  Assembly a{x.assignment, {}, false, {}};
  if (a.assignment.empty()) {
    ap.finish("no choice accepted");
    return a;
  }
  a.verdict = s.judge.judge(assignment_steps(sp.units, a.assignment), o.rule.scope);
  for (size_t k = x.accepted.size(); !a.verdict.legal && k > 0; --k) {
    a.backoff_acted = true;
    a.backed_off.push_back(x.trials[x.accepted[k - 1].trial].move.name);
    a.assignment = k >= 2 ? x.accepted[k - 2].assignment : Assignment{};
    if (a.assignment.empty()) break;
    a.verdict = s.judge.judge(assignment_steps(sp.units, a.assignment), o.rule.scope);
  }
  ap.finish(std::to_string(a.assignment.size()) + " units transformed" +
            (a.backoff_acted
                 ? " (the guard backed off " + std::to_string(a.backed_off.size()) + " choices)"
                 : ", legal as explored"));
  return a;
}

// ---- 6. verify ----
Verified verify(const SearchOptions& o, const Setup& s, Baseline& b, const Space& sp,
                const Assembly& a) {
  Verified v{s.base_arch, {}, {}, {}, {}};
  for (const ArchStep& step : assignment_steps(sp.units, a.assignment))
    v.arch.steps.push_back(step);
  for (const auto& [u, c] : a.assignment)
    v.arch.applied.push_back(sp.units[u].name + ": " + c->text);
  v.network = v.arch.build();
  Progress vp("verify", 3);
  DefaultTuning tuning;
  CompiledNetwork compiled = CompiledNetwork::compile(v.network, o.infer_batch, tuning.chooser());
  vp.step("compiled");
  v.agreement = compare(compiled.run(b.input), TorchTwin(v.network).forward(b.input));
  NASX_ASSERT(v.agreement.max_rel_err <= 1e-4,
              "the searched network disagrees with LibTorch: ", "max relative error ",
              v.agreement.max_rel_err);
  vp.step("checked against LibTorch");
  v.baseline_time = interleaved(b.compiled, compiled, b.input, o.final_repeat, v.time);
  vp.finish("timed");
  return v;
}

// ---- 7. report ----
VerdictSummary summary_of(const PairedVerdict& v, bool judged) {
  VerdictSummary s;
  s.judged = judged;
  if (!judged) return s;
  if (!v.rejected.empty()) {
    s.reject_kind = v.reject_kind;
    s.message = v.rejected;
    return s;
  }
  s.legal = v.legal;
  s.binding = v.binding;
  s.mean = v.mean;
  s.min = v.min;
  s.max = v.max;
  s.margin = v.margin();
  s.spread = v.spread();
  s.uncertain = v.uncertain();
  return s;
}

TimingSummary summary_of(const CandidateTiming& t, bool timed) {
  TimingSummary s;
  s.timed = timed;
  if (!timed) return s;
  s.ok = t.ok;
  s.error = t.error;
  s.kernels = t.kernels;
  s.baseline = t.baseline;
  s.candidate = t.candidate;
  s.shared = t.shared;
  return s;
}

SearchReport report(const SearchOptions& o, const Setup& s, const Baseline& b, const Space& sp,
                    const Exploration& x, const Assembly& a, const Verified& v) {
  SearchReport r;
  r.model = o.model;
  r.options = o.identity();
  r.rule = o.rule.to_json();
  r.budget_s = o.budget_s;
  r.target = s.records.target().to_json();
  r.baseline = {s.base.params(), s.base.macs(o.infer_batch), v.baseline_time, 0};
  r.result = {v.network.params(), v.network.macs(o.infer_batch), v.time, v.agreement.max_rel_err};
  r.speedup = v.baseline_time.median_ms / v.time.median_ms;
  r.speedup_min = v.baseline_time.min_ms / v.time.max_ms;
  r.speedup_max = v.baseline_time.max_ms / v.time.min_ms;
  r.estimated_ms = x.estimated_ms;
  r.final_verdict = summary_of(a.verdict, !a.assignment.empty());
  r.backoff_acted = a.backoff_acted;
  r.backed_off = a.backed_off;
  for (const Trial& t : x.trials) {
    TrialReport tr;
    tr.move = t.move.name;
    tr.level = move_level_name(t.move.level);
    for (const MovePart& p : t.move.parts) {
      tr.units.push_back(sp.units[p.unit].name);
      for (const std::string& l : sp.units[p.unit].layers) tr.layers.push_back(l);
    }
    tr.sequence = t.move.sequence;
    tr.macs_delta = t.move.macs_delta;
    tr.params_delta = t.move.params_delta;
    tr.ratio_before = t.ratio_before;
    tr.estimated_spend = t.estimated_spend;
    tr.timing = summary_of(t.timing, t.timed);
    tr.verdict = summary_of(t.verdict, t.judged);
    tr.accepted = t.accepted;
    r.trials.push_back(std::move(tr));
  }
  for (const Acceptance& acc : x.accepted) {
    ChoiceReport c{acc.trial,     acc.ratio_before, acc.ratio_after,
                   acc.saving_ms, acc.network_ms,   true};
    for (const MovePart& p : x.trials[acc.trial].move.parts) {
      auto it = a.assignment.find(p.unit);
      if (it != a.assignment.end() && it->second == p.candidate) c.superseded = false;
    }
    r.choices.push_back(c);
  }
  for (size_t u = 0; u < sp.units.size(); ++u) {
    const SearchUnit& unit = sp.units[u];
    UnitReport ur{unit.name,
                  unit.layers,
                  unit.joint,
                  unit.macs,
                  unit.params,
                  0,
                  int64_t(unit.candidates.size()),
                  "",
                  x.covered[u]};
    for (const std::string& n : unit.affected)
      if (auto it = b.kernel_ms.find(n); it != b.kernel_ms.end())
        ur.baseline_kernels_ms += it->second;
    if (auto it = a.assignment.find(u); it != a.assignment.end()) ur.chosen = it->second->text;
    if (!ur.covered) r.uncovered_units.push_back(unit.name);
    r.units.push_back(std::move(ur));
  }
  SearchCounts& c = r.counts;
  c.units = int64_t(sp.units.size());
  c.generated = sp.counts.generated;
  c.duplicates = sp.counts.duplicates;
  c.candidates = sp.candidates;
  c.moves = int64_t(x.trials.size());
  c.rejected_by_shape = sp.counts.rejected_total() + x.rejected;
  for (const auto& [k, n] : sp.counts.rejected) c.rejected_by_kind[k] += n;
  for (const auto& [k, n] : x.rejected_by_kind) c.rejected_by_kind[k] += n;
  for (const Trial& t : x.trials) {
    if (t.judged && t.verdict.rejected.empty()) (t.verdict.legal ? c.legal : c.illegal)++;
    if (t.timed) (t.timing.ok ? c.timed : c.failed)++;
  }
  c.judged = c.legal + c.illegal;
  c.verdicts_computed = s.judge.computed();
  c.accepted = int64_t(x.accepted.size());
  c.units_covered = int64_t(sp.units.size() - r.uncovered_units.size());
  return r;
}

// The finished search in the folder, if there is one: the runs so far and their total time.
struct Finished {
  bool finished = false;
  int runs = 0;
  double seconds = 0;
};

Finished finished_state(const fs::path& dir) {
  Json j = read_folder_json(dir / "finished.json");
  if (j.is_null()) return {};
  if (!j.is_object() || !j.contains("runs") || !j["runs"].is_number_integer()) {
    log(LogLevel::Warn, "warning: ", (dir / "finished.json").string(),
        " is corrupt: the search is resumed as unfinished");
    return {};
  }
  double s = j.contains("seconds") && j["seconds"].is_number() ? j["seconds"].get<double>() : 0;
  return {fs::exists(dir / "report.json"), j["runs"].get<int>(), s};
}

SearchReport run_phases(const SearchOptions& o, Setup& s);

}  // namespace

FileLock lock_search_folder(const std::string& dir) {
  return FileLock((fs::path(dir) / ".nasx-lock").string(), "the search folder " + dir);
}

SearchReport run_search(const SearchOptions& o) {
  Setup s = setup(o);
  Finished before = finished_state(s.dir);
  if (before.finished && !o.continue_search) {
    fs::path path = s.dir / "report.json";
    Json j = read_folder_json(path);
    SearchReport r;
    try {
      if (!j.is_object()) JsonIn(j, path.string()).fail("a search report (a JSON object)");
      r = SearchReport::from_json(JsonIn(j, path.string()));
    } catch (const UserError& e) {
      user_error(e.what(), "; remove ", (s.dir / "finished.json").string(),
                 " to run the search again");
    }
    r.from_finished = true;
    return r;
  }
  if (before.finished)
    log(LogLevel::Warn, "continuing the finished search in ", o.out_dir, " with a fresh budget");
  else if (s.existing)
    log(LogLevel::Warn, "resuming the search in ", o.out_dir);
  SearchReport r = run_phases(o, s);
  r.runs = before.runs + 1;
  r.seconds_all_runs = before.seconds + r.seconds["total"];
  write_report(s.dir.string(), r);
  write_file_atomically((s.dir / "finished.json").string(),
                        Json{{"runs", r.runs}, {"seconds", r.seconds_all_runs}}.dump() + "\n");
  return r;
}

namespace {

SearchReport run_phases(const SearchOptions& o, Setup& s) {
  std::map<std::string, double> seconds;
  auto clock = s.start;
  auto phase_done = [&](const char* name) {
    seconds[name] = since(clock);
    clock = Clock::now();
  };
  phase_done("setup");
  Baseline b = baseline(o, s);
  phase_done("baseline");
  Space sp = space(o, s);
  phase_done("space");
  Exploration x = explore_space(o, s, b, sp);
  phase_done("explore");
  Assembly a = assemble(o, s, sp, x);
  phase_done("assemble");
  Verified v = verify(o, s, b, sp, a);
  phase_done("verify");
  SearchReport r = report(o, s, b, sp, x, a, v);
  phase_done("report");
  seconds["total"] = since(s.start);
  r.seconds = seconds;
  v.arch.write((s.dir / "arch.json").string());
  return r;
}

}  // namespace
}  // namespace nasx
