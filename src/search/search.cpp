#include "search/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "graph/arch.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "runtime/compiled_network.h"
#include "search/evaluate.h"
#include "search/legality.h"
#include "search/report.h"
#include "search/space.h"
#include "support/file.h"
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
                  "--judges-per-layer must be in [0, 1000] (0: share the budget), got ",
                  o.judges_per_unit);
  // The rule's fields: checked again, for callers that built it by hand.
  RuleOverrides check{o.rule.proxy_list(), o.rule.tau, o.rule.samples, o.rule.scope};
  resolve_rule(legality_rules().front().name, check);
  DatasetSpec::parse(o.data);
}

// The output directory: created, writable, and either new or holding this same search.
void prepare_directory(const SearchOptions& o) {
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
  fs::path identity = dir / "search.json";
  Json mine = o.identity();
  if (fs::exists(identity)) {
    std::ifstream f(identity);
    Json theirs = Json::parse(f, nullptr, false);
    NASX_USER_CHECK(!theirs.is_discarded() && theirs.is_object(), identity.string(),
                    " is not a search's identity file; use another --out");
    for (const auto& [key, value] : mine.items())
      NASX_USER_CHECK(theirs.contains(key) && theirs[key] == value, o.out_dir,
                      " holds a search with a different command line (", key, " was ",
                      theirs.contains(key) ? theirs[key].dump() : "absent", ", now ", value.dump(),
                      "); run it with the same options to resume, or choose another --out");
    log(LogLevel::Warn, "resuming the search in ", o.out_dir);
  } else {
    write_file_atomically(identity.string(), mine.dump(2) + "\n");
  }
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

// One candidate as the search saw it.
struct Trial {
  size_t unit = 0;
  const Candidate* candidate = nullptr;
  bool judged = false;
  PairedVerdict verdict;
  bool timed = false;
  CandidateTiming timing;
};

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

Json timing_json(const TimingStats& s) {
  return Json{{"median_ms", s.median_ms},
              {"min_ms", s.min_ms},
              {"max_ms", s.max_ms},
              {"repeats", s.repeats}};
}

Json finite_or_null(double v) {
  return std::isfinite(v) ? Json(v) : Json();
}

Json verdict_json(const PairedVerdict& v) {
  if (!v.rejected.empty()) return Json{{"rejected", v.reject_kind}, {"message", v.rejected}};
  return Json{{"legal", v.legal},
              {"binding", v.binding},
              {"mean", finite_or_null(v.mean)},
              {"min", finite_or_null(v.min)},
              {"max", finite_or_null(v.max)},
              {"margin", finite_or_null(v.margin())},
              {"spread", finite_or_null(v.spread())},
              {"uncertain", v.uncertain()}};
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
  if (width > 0) id["width"] = width;  // absent at the default, so older directories resume
  if (rule.name != legality_rules().front().name) id["rule"] = rule.name;  // likewise
  return id;
}

Json run_search(const SearchOptions& o) {
  auto start = Clock::now();
  auto left = [&] { return o.budget_s - since(start); };
  Json phases = Json::object();
  auto phase_clock = Clock::now();
  auto end_phase = [&](const char* name) {
    phases[name] = since(phase_clock);
    phase_clock = Clock::now();
  };

  // ---- 1. setup ----
  validate(o);
  Arch base_arch = base_arch_of(o);
  Network base = base_arch.build();  // UserError for an unknown model, before any file is written
  load_minibatch(DatasetSpec::parse(o.data), base.input_chw, base.num_classes, 1, o.seed);
  std::vector<std::string> layers = match_conv_layers(base, o.layers);
  prepare_directory(o);
  install_interrupt_handlers();
  fs::path dir(o.out_dir);
  RecordStore records((dir / "records.jsonl").string(), detect_target());
  PairedJudge judge =
      make_arch_judge(base_arch, model_identity(base_arch), DatasetSpec::parse(o.data), o.rule,
                      o.batch, o.seed, (dir / "verdicts.jsonl").string());
  end_phase("setup");

  // ---- 2. baseline ----
  Progress bp("baseline", 2);
  auto t_compile = Clock::now();
  DefaultTuning tuning;  // kernels with `nasx tune` records take their best knobs
  CompiledNetwork base_compiled = CompiledNetwork::compile(base, o.infer_batch, tuning.chooser());
  double compile_s = since(t_compile);
  Tensor input = Tensor::random_normal(base.input_shape(o.infer_batch), o.seed + 1);
  fs::path baseline_file = dir / "baseline.json";
  TimingStats base_time;
  {
    std::ifstream f(baseline_file);
    Json j = f ? Json::parse(f, nullptr, false) : Json();
    if (j.is_object() && j.contains("median_ms")) {
      base_time = {j["median_ms"].get<double>(), j["min_ms"].get<double>(),
                   j["max_ms"].get<double>(), j["repeats"].get<int>()};
    } else {
      Tensor out(base_compiled.output_shape());
      base_time = measure([&] { base_compiled.run(input.data.data(), out.data.data()); }, 3, 20);
      write_file_atomically(baseline_file.string(), timing_json(base_time).dump() + "\n");
    }
  }
  bp.step("compiled in " + format_duration(compile_s) + ", " + std::to_string(base_time.median_ms) +
          " ms end to end");
  std::map<std::string, OpInstance> base_kernels = executed_kernels(base, o.infer_batch);
  std::map<std::string, double> base_kernel_ms;  // the throughput the estimates use
  {
    std::vector<MeasureRequest> req;
    for (auto& [name, inst] : base_kernels) req.push_back({inst, name + " (baseline)", false, ""});
    std::vector<MeasureRecord> m = measure_ops(req, records);
    size_t i = 0;
    for (auto& [name, inst] : base_kernels) base_kernel_ms[name] = m[i++].stats.median_ms;
  }
  bp.finish("kernels timed");
  NASX_USER_CHECK(left() > 0, "--budget ", format_duration(o.budget_s),
                  " is too small: compiling and timing the baseline alone took ",
                  format_duration(since(start)));
  end_phase("baseline");

  // ---- 3. space ----
  SpaceCounts counts;
  std::vector<SearchUnit> units = build_search_space(base, layers, o.max_len, o.seed, counts);
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return units[a].macs > units[b].macs; });
  int64_t candidates_total = 0;
  for (const SearchUnit& u : units) candidates_total += static_cast<int64_t>(u.candidates.size());
  end_phase("space");

  // ---- 4. explore ----
  std::vector<Trial> trials;
  std::vector<std::string> unexplored;
  int64_t skipped_estimate = 0, not_judged = 0, network_rejected = 0;
  std::map<std::string, int64_t> network_rejections;
  WorkerOptions wo;
  // Test hooks: NASX_TEST_FAULT=crash:SEQUENCE (or hang:, or :* for every candidate) makes the
  // worker fail on that candidate's kernels; NASX_TEST_KILL_AFTER_VERDICTS=N kills the search
  // (SIGKILL, no clean-up) once N verdicts have been computed.
  const char* fault_env = std::getenv("NASX_TEST_FAULT");
  const char* kill_env = std::getenv("NASX_TEST_KILL_AFTER_VERDICTS");
  int64_t kill_after = kill_env ? std::atoll(kill_env) : 0;
  Progress ep("explore", static_cast<int64_t>(units.size()));
  size_t explored = 0;        // units begun
  double timing_s = 0;        // spent timing candidates so far
  size_t choices_so_far = 0;  // units with a legal candidate that saves time
  for (size_t ui : order) {
    check_interrupted();
    const SearchUnit& unit = units[ui];
    double judge_s = judge.seconds_per_sample() * o.rule.samples;
    // Kept for assembly (one network check, then a bisection over the choices found so far) and
    // verification (two compilations, the interleaved timing).
    double reserve = 2 * compile_s +
                     (2 + std::ceil(std::log2(double(choices_so_far) + 1))) * judge_s +
                     2 * base_time.median_ms * o.final_repeat / 1e3 + 5;
    if (left() < reserve + judge_s) {
      ++explored;
      unexplored.push_back(unit.name);
      not_judged += static_cast<int64_t>(unit.candidates.size());
      ep.step(unit.name + ": not explored (budget)");
      continue;
    }
    // Worth judging: an estimated saving of at least 2% of what the unit costs.
    std::vector<const Candidate*> worth;
    for (const Candidate& c : unit.candidates)
      if (-double(c.macs_delta) >= 0.02 * double(unit.macs)) worth.push_back(&c);
    skipped_estimate += static_cast<int64_t>(unit.candidates.size() - worth.size());
    // Bisect from the most aggressive towards the most aggressive legal one.
    int64_t lo = 0, hi = static_cast<int64_t>(worth.size()) - 1;
    int judged = 0;
    std::vector<size_t> legal;
    // Judges for this unit: as asked, or an equal share of what the budget has left.
    int judges = o.judges_per_unit;
    if (judges == 0) {
      double units_left = double(units.size() - explored);
      double per_unit = (left() - reserve) / units_left - (explored ? timing_s / explored : 5.0);
      judges = judge_s > 0 ? std::clamp(int(per_unit / judge_s), 2, 12) : 4;
    }
    ++explored;
    while (lo <= hi && judged < judges && left() > reserve + judge_s) {
      check_interrupted();
      int64_t mid = (lo + hi) / 2;
      Trial t{ui,    worth[mid], true, judge.judge({{unit.layers, worth[mid]->text}}, o.rule.scope),
              false, {}};
      worth.erase(worth.begin() + mid);
      if (kill_after > 0 && judge.computed() >= kill_after) std::raise(SIGKILL);  // test hook
      if (!t.verdict.rejected.empty()) {  // does not apply in this network: next one
        ++network_rejected;
        ++network_rejections[t.verdict.reject_kind];
        --hi;
        trials.push_back(std::move(t));
        continue;
      }
      ++judged;
      if (t.verdict.legal) {
        legal.push_back(trials.size());
        hi = mid - 1;
      } else {
        lo = mid;
        --hi;
      }
      trials.push_back(std::move(t));
      judge_s = judge.seconds_per_sample() * o.rule.samples;
    }
    not_judged += static_cast<int64_t>(worth.size());
    // Time the legal ones against the unit's baseline kernels, in one worker run.
    auto timing_start = Clock::now();
    if (!legal.empty()) {
      std::vector<Network> nets;
      std::vector<TimingJob> jobs;
      for (size_t k : legal) {
        Network n = base;
        transform_layers(n, unit.layers, trials[k].candidate->sequence, o.seed);
        nets.push_back(std::move(n));
      }
      for (size_t j = 0; j < legal.size(); ++j) {
        std::string fault;
        const std::string& text = trials[legal[j]].candidate->text;
        if (fault_env) {
          std::string f = fault_env;
          size_t colon = f.find(':');
          if (colon != std::string::npos &&
              (f.substr(colon + 1) == text || f.substr(colon + 1) == "*"))
            fault = f.substr(0, colon);
        }
        jobs.push_back({&nets[j], unit.name + " " + text, fault});
      }
      std::vector<CandidateTiming> timings =
          time_candidates(base_kernels, jobs, o.infer_batch, records, wo);
      for (size_t j = 0; j < legal.size(); ++j) {
        trials[legal[j]].timed = true;
        trials[legal[j]].timing = timings[j];
      }
      bool saves = false;
      for (const CandidateTiming& t : timings) saves = saves || (t.ok && t.saving_ms() > 0);
      choices_so_far += saves;
    }
    timing_s += since(timing_start);
    ep.step(unit.name + ": " + std::to_string(judged) + " judged, " + std::to_string(legal.size()) +
            " legal");
  }
  ep.finish();
  end_phase("explore");

  // ---- 5. assemble ----
  struct Choice {
    size_t trial;
    bool channel_change;
  };
  std::vector<Choice> choices;
  for (size_t ui = 0; ui < units.size(); ++ui) {
    int best = -1;
    for (size_t k = 0; k < trials.size(); ++k) {
      const Trial& t = trials[k];
      if (t.unit != ui || !t.timed || !t.timing.ok || t.timing.saving_ms() <= 0) continue;
      if (best < 0 || t.timing.saving_ms() > trials[best].timing.saving_ms()) best = int(k);
    }
    if (best < 0) continue;
    bool bottleneck = trials[best].candidate->text.find("bottleneck") != std::string::npos;
    choices.push_back({size_t(best), units[ui].joint || bottleneck});
  }
  // Channel changes first: a consumer must still be plain when its input channels change.
  std::stable_sort(choices.begin(), choices.end(), [&](const Choice& a, const Choice& b) {
    return units[trials[a.trial].unit].joint > units[trials[b.trial].unit].joint ||
           (units[trials[a.trial].unit].joint == units[trials[b.trial].unit].joint &&
            a.channel_change > b.channel_change);
  });
  Json conflicts = Json::array(), backed_off = Json::array();
  std::vector<Choice> kept;
  {
    Network acc = base;
    for (const Choice& c : choices) {
      const Trial& t = trials[c.trial];
      Network trial = acc;
      try {
        transform_layers(trial, units[t.unit].layers, t.candidate->sequence, o.seed);
        acc = std::move(trial);
        kept.push_back(c);
      } catch (const TransformError& e) {
        conflicts.push_back(
            {{"unit", units[t.unit].name}, {"sequence", t.candidate->text}, {"reason", e.what()}});
      }
    }
  }
  auto steps_of = [&](const std::vector<Choice>& cs) {
    std::vector<ArchStep> steps;
    for (const Choice& c : cs)
      steps.push_back({units[trials[c.trial].unit].layers, trials[c.trial].candidate->text});
    return steps;
  };
  // Back off the least valuable choices until the network passes: bisection over how many of the
  // most valuable choices to keep (few network-scope checks even when many choices must go).
  std::vector<Choice> by_value = kept;
  std::stable_sort(by_value.begin(), by_value.end(), [&](const Choice& a, const Choice& b) {
    return trials[a.trial].timing.saving_ms() > trials[b.trial].timing.saving_ms();
  });
  auto first_k = [&](size_t k) {  // the k most valuable, in composition order
    std::vector<Choice> out;
    for (const Choice& c : kept)
      for (size_t i = 0; i < k; ++i)
        if (by_value[i].trial == c.trial) out.push_back(c);
    return out;
  };
  PairedVerdict network_verdict;
  std::map<size_t, PairedVerdict> tried;
  Progress ap("assemble", 1);
  auto legal_with = [&](size_t k) {
    check_interrupted();
    PairedVerdict v = judge.judge(steps_of(first_k(k)), "network");
    tried[k] = v;
    ap.set_total(static_cast<int64_t>(tried.size()) + 1);
    ap.step("keeping " + std::to_string(k) + " of " + std::to_string(kept.size()) +
            " choices: network ratio " + std::to_string(v.mean));
    return v.legal;
  };
  size_t keep = kept.size();
  if (keep > 0 && !legal_with(keep)) {
    size_t lo = 0, hi = keep - 1;    // keeping lo passes (none always does), keeping hi + 1 fails
    while (lo < hi && left() > 0) {  // out of budget: keep what is known to pass
      size_t mid = (lo + hi + 1) / 2;
      if (legal_with(mid))
        lo = mid;
      else
        hi = mid - 1;
    }
    for (size_t i = lo; i < keep; ++i) {
      const Trial& t = trials[by_value[i].trial];
      backed_off.push_back(
          {{"unit", units[t.unit].name},
           {"sequence", t.candidate->text},
           {"network_ratio_with_it", finite_or_null(tried.lower_bound(i + 1)->second.mean)}});
    }
    keep = lo;
  }
  if (keep > 0) network_verdict = tried.at(keep);
  kept = first_k(keep);
  ap.finish(std::to_string(kept.size()) + " choices kept");
  end_phase("assemble");

  // ---- 6. verify ----
  Arch result = base_arch;
  for (const Choice& c : kept) {
    const Trial& t = trials[c.trial];
    result.steps.push_back({units[t.unit].layers, t.candidate->text});
    result.applied.push_back(units[t.unit].name + ": " + t.candidate->text);
  }
  Network final_net = result.build();
  Progress vp("verify", 3);
  CompiledNetwork final_compiled =
      CompiledNetwork::compile(final_net, o.infer_batch, tuning.chooser());
  vp.step("compiled");
  Agreement agreement = compare(final_compiled.run(input), TorchTwin(final_net).forward(input));
  NASX_ASSERT(agreement.max_rel_err <= 1e-4,
              "the searched network disagrees with LibTorch: ", "max relative error ",
              agreement.max_rel_err);
  vp.step("checked against LibTorch");
  TimingStats final_time;
  TimingStats base_e2e =
      interleaved(base_compiled, final_compiled, input, o.final_repeat, final_time);
  vp.finish("timed");
  end_phase("verify");

  // ---- 7. report ----
  Json report;
  report["model"] = o.model;
  report["options"] = o.identity();
  report["budget_s"] = o.budget_s;
  report["target"] = records.target().to_json();
  report["baseline"] = {{"params", base.params()},
                        {"macs", base.macs(o.infer_batch)},
                        {"latency", timing_json(base_e2e)}};
  report["result"] = {{"params", final_net.params()},
                      {"macs", final_net.macs(o.infer_batch)},
                      {"latency", timing_json(final_time)},
                      {"max_rel_err_vs_libtorch", agreement.max_rel_err}};
  report["speedup"] = {{"median", base_e2e.median_ms / final_time.median_ms},
                       {"min", base_e2e.min_ms / final_time.max_ms},
                       {"max", base_e2e.max_ms / final_time.min_ms}};
  report["network_verdict"] = kept.empty() ? Json() : verdict_json(network_verdict);
  Json chosen = Json::array();
  for (const Choice& c : kept) chosen.push_back(c.trial);
  Json trials_json = Json::array();
  auto unit_ms = [&](const SearchUnit& u) {
    double ms = 0;
    for (const std::string& n : u.affected)
      if (auto it = base_kernel_ms.find(n); it != base_kernel_ms.end()) ms += it->second;
    return ms;
  };
  for (const Trial& t : trials) {
    const SearchUnit& u = units[t.unit];
    // The cheap estimate: the candidate's MACs over the unit's measured baseline throughput.
    double estimate = unit_ms(u) * double(u.macs + t.candidate->macs_delta) / double(u.macs);
    Json j{{"unit", units[t.unit].name},
           {"estimated_ms", estimate},
           {"layers", units[t.unit].layers},
           {"sequence", t.candidate->text},
           {"macs_delta", t.candidate->macs_delta},
           {"params_delta", t.candidate->params_delta},
           {"verdict", verdict_json(t.verdict)}};
    if (t.timed) {
      j["timing"] = {{"ok", t.timing.ok},
                     {"kernels", t.timing.kernels},
                     {"baseline", timing_json(t.timing.baseline)},
                     {"candidate", timing_json(t.timing.candidate)},
                     {"shared", t.timing.shared}};
      if (!t.timing.ok) j["timing"]["error"] = t.timing.error;
    }
    trials_json.push_back(j);
  }
  int64_t legal_count = 0, illegal_count = 0, timed = 0, failed = 0;
  for (const Trial& t : trials) {
    if (t.verdict.rejected.empty()) (t.verdict.legal ? legal_count : illegal_count)++;
    if (t.timed) (t.timing.ok ? timed : failed)++;
  }
  Json rejected_by_kind = Json::object();
  for (auto [k, v] : counts.rejected) rejected_by_kind[k] = v;
  for (auto [k, v] : network_rejections)
    rejected_by_kind[k] = rejected_by_kind.value(k, int64_t{0}) + v;
  report["counts"] = {{"units", units.size()},
                      {"generated", counts.generated},
                      {"duplicates", counts.duplicates},
                      {"candidates", candidates_total},
                      {"rejected_by_shape", counts.rejected_total() + network_rejected},
                      {"rejected_by_kind", rejected_by_kind},
                      {"skipped_by_estimate", skipped_estimate},
                      {"not_judged", not_judged},
                      {"judged", legal_count + illegal_count},
                      {"verdicts_computed", judge.computed()},
                      {"legal", legal_count},
                      {"illegal", illegal_count},
                      {"timed", timed},
                      {"failed", failed}};
  report["unexplored_units"] = unexplored;
  report["chosen"] = chosen;
  report["conflicts"] = conflicts;
  report["backed_off"] = backed_off;
  report["trials"] = trials_json;
  Json unit_json = Json::array();
  for (const SearchUnit& u : units)
    unit_json.push_back({{"name", u.name},
                         {"layers", u.layers},
                         {"joint", u.joint},
                         {"macs", u.macs},
                         {"params", u.params},
                         {"baseline_kernels_ms", unit_ms(u)},
                         {"candidates", u.candidates.size()}});
  report["units"] = unit_json;
  end_phase("report");
  phases["total"] = since(start);
  report["seconds"] = phases;
  result.write((dir / "arch.json").string());
  write_report(dir.string(), report);
  return report;
}

}  // namespace nasx
