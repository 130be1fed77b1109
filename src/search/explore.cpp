#include "search/explore.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <set>

#include "graph/transform_network.h"
#include "support/interrupt.h"
#include "support/log.h"
#include "support/progress.h"
#include "tune/measure.h"

namespace nasx {

SearchFaults SearchFaults::from_environment() {
  SearchFaults f;
  if (const char* e = std::getenv("NASX_TEST_FAULT")) {
    std::string s = e;
    size_t colon = s.find(':');
    if (colon != std::string::npos) {
      f.worker_fault = s.substr(0, colon);
      f.fault_sequence = s.substr(colon + 1);
    }
  }
  if (const char* e = std::getenv("NASX_TEST_KILL_AFTER_VERDICTS"))
    f.kill_after_verdicts = std::atoll(e);
  return f;
}

std::string SearchFaults::fault_for(const std::string& sequence) const {
  if (worker_fault.empty()) return "";
  return fault_sequence == "*" || fault_sequence == sequence ? worker_fault : "";
}

void SearchFaults::after_verdict(int64_t computed) const {
  if (kill_after_verdicts > 0 && computed >= kill_after_verdicts) std::raise(SIGKILL);
}

namespace {

bool changes_channels(const SearchUnit& u, const Candidate& c) {
  if (u.joint) return true;
  for (const NeuralTransform& t : c.sequence)
    if (std::holds_alternative<Bottleneck>(t)) return true;
  return false;
}

// The order steps are applied in: channel changes first, then by unit.
std::vector<std::pair<size_t, const Candidate*>> canonical(const std::vector<SearchUnit>& units,
                                                           const Assignment& a) {
  std::vector<std::pair<size_t, const Candidate*>> out(a.begin(), a.end());
  std::stable_sort(out.begin(), out.end(), [&](const auto& x, const auto& y) {
    return changes_channels(units[x.first], *x.second) >
           changes_channels(units[y.first], *y.second);
  });
  return out;
}

const char* kind_of(const Candidate& c) {
  static const char* names[] = {"bottleneck", "group", "depthwise",
                                "split",      "peel",  "spatial_split"};
  return c.sequence.empty() ? "none" : names[c.sequence.front().index()];
}

// The ratio a move is expected to spend, per proxy of the rule. First order: a proxy's network
// value is a sum of per-layer shares (the reference's block values, split within a block by
// parameters), and a move that removes a fraction of a unit's parameters removes that fraction of
// its layers' shares. What that predicts is scaled per proxy and transformation kind by the ratio
// actually spent per unit predicted, learned from every verdict (a prior of 1, weight kPrior).
// The estimate is the largest over the proxies: the one expected to bind.
class SpendModel {
 public:
  SpendModel(const Network& base, const std::vector<std::string>& proxies,
             const std::vector<ProxyResult>& reference)
      : proxies_(proxies) {
    for (size_t p = 0; p < proxies.size(); ++p) shares_.push_back(layer_shares(base, reference[p]));
  }
  size_t proxies() const { return proxies_.size(); }
  const std::string& proxy(size_t p) const { return proxies_[p]; }
  double share(size_t p, const std::string& layer) const {
    auto it = shares_[p].find(layer);
    return it == shares_[p].end() ? 0 : it->second;
  }
  double estimate(const std::string& kind, const std::vector<double>& predicted) const {
    double e = kFloor;
    for (size_t p = 0; p < predicted.size(); ++p) e = std::max(e, slope(p, kind) * predicted[p]);
    return e;
  }
  void observe(const std::string& kind, const std::vector<double>& predicted,
               const std::vector<double>& spent) {
    for (size_t p = 0; p < predicted.size(); ++p) {
      if (predicted[p] <= 0 || !std::isfinite(spent[p])) continue;
      for (const std::string& k : {std::string(), kind}) {
        auto& [s, f] = sums_[{p, k}];
        s += spent[p];
        f += predicted[p];
      }
    }
  }

 private:
  static constexpr double kPrior = 0.05, kFloor = 0.005;
  std::pair<double, double> sums(size_t p, const std::string& kind) const {
    auto it = sums_.find({p, kind});
    return it == sums_.end() ? std::pair<double, double>{0, 0} : it->second;
  }
  double slope(size_t p, const std::string& kind) const {
    auto [s, f] = sums(p, "");
    double proxy_slope = (kPrior + s) / (kPrior + f);
    auto [sk, fk] = sums(p, kind);
    return std::max((kPrior * proxy_slope + sk) / (kPrior + fk), 0.0);
  }
  // Each convolution's share of the proxy's network value.
  static std::map<std::string, double> layer_shares(const Network& net, const ProxyResult& r) {
    std::map<std::string, double> out;
    if (!(r.total > 0)) return out;
    std::map<std::string, int64_t> block_params;  // "" for layers in no block
    std::map<std::string, std::string> block_of;
    for (const Node& n : net.nodes) {
      if (!std::holds_alternative<ConvProgram>(n.op)) continue;
      std::string best;
      for (const BlockValue& b : r.blocks)
        if (n.name.size() > b.name.size() && n.name.compare(0, b.name.size(), b.name) == 0 &&
            n.name[b.name.size()] == '.' && b.name.size() > best.size())
          best = b.name;
      block_of[n.name] = best;
      block_params[best] += param_count(n.op);
    }
    std::map<std::string, double> value;
    double in_blocks = 0;
    for (const BlockValue& b : r.blocks) {
      value[b.name] += b.value;
      in_blocks += b.value;
    }
    value[""] = std::max(r.total - in_blocks, 0.0);
    for (const Node& n : net.nodes) {
      if (!std::holds_alternative<ConvProgram>(n.op)) continue;
      const std::string& b = block_of[n.name];
      out[n.name] = value[b] / r.total * double(param_count(n.op)) / double(block_params[b]);
    }
    return out;
  }
  std::vector<std::string> proxies_;
  std::vector<std::map<std::string, double>> shares_;
  std::map<std::pair<size_t, std::string>, std::pair<double, double>> sums_;
};

class Explorer {
 public:
  explicit Explorer(const ExploreContext& ctx)
      : c_(ctx), model_(ctx.base, ctx.judge.proxies(), ctx.judge.reference_values()) {
    x_.covered.assign(c_.units.size(), false);
    for (const SearchUnit& u : c_.units) unit_ms_.push_back(kernels_ms(u));
  }

  Exploration run() {
    double total = c_.seconds_left();
    // Network-wide and stage-wide moves in one pool: a stage move on an early stage often buys
    // more time per ratio than a network-wide one (the same MACs, a fraction of the parameters).
    // They get two thirds of the time; with a fixed number of judges per unit, a count instead
    // (the judged set is then a function of the seed and the measurements alone).
    std::vector<Move> moves = coarse_moves(c_.units, MoveLevel::Network);
    std::set<std::string> seen;  // a stage move that covers what a network move does is that move
    for (const Move& m : moves) seen.insert(parts_key(m));
    for (Move& m : coarse_moves(c_.units, MoveLevel::Stage))
      if (seen.insert(parts_key(m)).second) moves.push_back(std::move(m));
    if (!moves.empty()) {
      int max_judges = c_.judges_per_unit > 0 ? c_.judges_per_unit * roles(moves) : 1 << 30;
      std::vector<size_t> pool = add_trials(std::move(moves));
      Progress p("explore coarse", int64_t(pool.size()));
      auto go_on = [&] { return c_.seconds_left() > total / 3 + judge_seconds(); };
      int judged = run_pool(pool, max_judges, go_on, p, 1);
      // Coverage: each network-wide role with a unit no verdict has judged yet gets its move
      // expected to spend least (the likeliest to fit), so that every unit is judged in at least
      // one move however deep the network. Last, so that it never displaces a more valuable move.
      std::map<std::string, std::vector<size_t>> by_role;
      for (size_t i : pool)
        if (x_.trials[i].move.level == MoveLevel::Network)
          by_role[role_of(x_.trials[i].move)].push_back(i);
      for (const auto& [role, ids] : by_role) {
        if (judged >= max_judges || c_.seconds_left() < judge_seconds()) break;
        // Until each of the role's units is judged, or no move holding one is left.
        while (uncovered(ids) && judged < max_judges && c_.seconds_left() >= judge_seconds()) {
          int spent = cover(ids, p);
          if (spent == 0) break;
          judged += spent;
        }
      }
      // A unit in no network-wide move that applies (the stem, whose three input channels no
      // uniform sequence fits; coupled classes whose joint bottlenecks do not compose) is covered
      // by its own mildest candidate.
      std::vector<bool> in_role(c_.units.size(), false);
      for (const auto& [role, ids] : by_role)
        for (size_t i : ids)
          if (!x_.trials[i].timed || x_.trials[i].timing.ok)
            for (const MovePart& part : x_.trials[i].move.parts) in_role[part.unit] = true;
      for (size_t u = 0; u < c_.units.size(); ++u) {
        if (judged >= max_judges || c_.seconds_left() < judge_seconds()) break;
        if (!x_.covered[u] && !in_role[u]) judged += cover(unit_trials(u), p);
      }
      p.finish(std::to_string(x_.accepted.size()) + " accepted, ratio " + fmt3(x_.ratio));
    }
    refine_units();
    x_.estimated_ms = x_.accepted.empty() ? c_.base_ms : x_.accepted.back().network_ms;
    return std::move(x_);
  }

 private:
  static std::string fmt3(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v);
    return b;
  }

  double kernels_ms(const SearchUnit& u) const {
    double ms = 0;
    for (const std::string& n : u.affected)
      if (auto it = c_.base_kernel_ms.find(n); it != c_.base_kernel_ms.end()) ms += it->second;
    return ms;
  }

  static std::string parts_key(const Move& m) {
    std::string k;
    for (const MovePart& p : m.parts) k += std::to_string(p.unit) + ":" + p.candidate->text + "|";
    return k;
  }

  static std::string role_of(const Move& m) { return m.name.substr(0, m.name.find(": ")); }
  static int roles(const std::vector<Move>& moves) {
    std::set<std::string> names;
    for (const Move& m : moves) names.insert(role_of(m));
    return int(names.size());
  }

  double judge_seconds() const {
    double s = c_.judge.seconds_per_sample();
    return (s > 0 ? s : 2.0) * c_.samples;
  }

  // A unit's own moves, made once (the coverage pass and the refinement share them).
  const std::vector<size_t>& unit_trials(size_t u) {
    auto it = unit_trials_.find(u);
    if (it == unit_trials_.end()) it = unit_trials_.emplace(u, add_trials(worth_timing(u))).first;
    return it->second;
  }

  std::vector<size_t> add_trials(std::vector<Move> moves) {
    std::vector<size_t> idx;
    for (Move& m : moves) {
      idx.push_back(x_.trials.size());
      x_.trials.push_back({std::move(m), 0, 1, {}, false, {}, false, -1});
    }
    return idx;
  }

  // The assignment with a move's parts put in.
  Assignment with(const Move& m) const {
    Assignment a = x_.assignment;
    for (const MovePart& p : m.parts) a[p.unit] = p.candidate;
    return a;
  }

  double saving_of(size_t unit, const Candidate* c) const {
    if (!c) return 0;
    auto it = saving_.find({unit, c});
    return it == saving_.end() ? 0 : it->second;
  }
  const Candidate* current(size_t unit) const {
    auto it = x_.assignment.find(unit);
    return it == x_.assignment.end() ? nullptr : it->second;
  }
  // Time saved against what the units run now: measured once the move is timed, before that
  // estimated from MACs at the unit's measured baseline throughput (what decides which moves
  // are timed next).
  double gain(const Trial& t) const {
    double g = 0;
    for (const MovePart& p : t.move.parts) {
      const SearchUnit& u = c_.units[p.unit];
      double mine = t.timed ? saving_of(p.unit, p.candidate)
                            : unit_ms_[p.unit] * -double(p.candidate->macs_delta) /
                                  double(std::max<int64_t>(u.macs, 1));
      g += mine - saving_of(p.unit, current(p.unit));
    }
    return g;
  }
  // Per proxy: the share of its network value the move is predicted to remove from the network
  // as it stands (what the unit's candidate removes, less what its current one does).
  std::vector<double> predicted(const Trial& t) const {
    std::vector<double> out(model_.proxies(), 0.0);
    for (const MovePart& p : t.move.parts) {
      const SearchUnit& u = c_.units[p.unit];
      const Candidate* now = current(p.unit);
      double removed =
          -(double(p.candidate->params_delta) - (now ? double(now->params_delta) : 0.0)) /
          double(std::max<int64_t>(u.params, 1));
      for (size_t k = 0; k < out.size(); ++k)
        for (const std::string& l : u.affected) out[k] += removed * model_.share(k, l);
    }
    return out;
  }
  // The ratio each proxy of the rule spent on the network (its network mean ratio).
  std::vector<double> spent(const PairedVerdict& v) const {
    std::vector<double> out;
    for (size_t k = 0; k < model_.proxies(); ++k) {
      std::string name = model_.proxies() > 1 ? model_.proxy(k) + ":network" : "network";
      auto it = v.ratios.find(name);
      double mean = NAN;
      if (it != v.ratios.end() && !it->second.empty()) {
        mean = 0;
        for (double r : it->second) mean += r;
        mean /= double(it->second.size());
      }
      out.push_back(network_ratio_[k] - mean);
    }
    return out;
  }
  std::string kind(const Trial& t) const { return kind_of(*t.move.parts.front().candidate); }

  // The base network under an assignment: the typed sequences, in canonical order (what the
  // judge applies from the printed steps).
  void apply_assignment(Network& n, const Assignment& a) const {
    for (const auto& [u, cand] : canonical(c_.units, a))
      transform_layers(n, c_.units[u].layers, cand->sequence, c_.seed);
  }

  // The latency of the network under an assignment, estimated from kernel records: every kernel it
  // runs, measured where a record has it (the baseline's time of that node otherwise), scaled by
  // the baseline's end-to-end time over its kernels' sum.
  double estimate_ms(const Assignment& a) const {
    Network n = c_.base;
    apply_assignment(n, a);
    double base_sum = 0, sum = 0;
    for (const auto& [name, ms] : c_.base_kernel_ms) base_sum += ms;
    for (const auto& [name, inst] : executed_kernels(n, c_.infer_batch)) {
      const MeasureRecord* r = c_.records.find(kernel_key(inst));
      auto b = c_.base_kernel_ms.find(name);
      sum += r && r->ok() ? r->stats.median_ms : (b != c_.base_kernel_ms.end() ? b->second : 0);
    }
    return base_sum > 0 ? c_.base_ms * sum / base_sum : c_.base_ms;
  }

  // Times the trials' kernels against the baseline's in one worker run.
  void time_trials(const std::vector<size_t>& idx) {
    auto start = std::chrono::steady_clock::now();
    struct AddTime {
      double& to;
      std::chrono::steady_clock::time_point since;
      ~AddTime() {
        to += std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
      }
    } add_time{timing_seconds_, start};
    std::vector<TimingJob> jobs;
    std::vector<size_t> timed;
    for (size_t i : idx) {
      check_interrupted();
      Trial& t = x_.trials[i];
      Network n = c_.base;
      Assignment own;
      for (const MovePart& p : t.move.parts) own[p.unit] = p.candidate;
      try {
        apply_assignment(n, own);
      } catch (const TransformError& e) {
        t.timed = true;
        t.timing.error = std::string("does not apply: ") + e.what();
        continue;
      }
      jobs.push_back(
          {executed_kernels(n, c_.infer_batch), t.move.name, c_.faults.fault_for(t.move.sequence)});
      timed.push_back(i);
    }
    if (jobs.empty()) return;
    std::vector<CandidateTiming> out =
        time_candidates(c_.base_kernels, jobs, c_.records, WorkerOptions{});
    for (size_t j = 0; j < timed.size(); ++j) {
      Trial& t = x_.trials[timed[j]];
      t.timed = true;
      t.timing = out[j];
      if (!t.timing.ok) continue;
      for (const MovePart& p : t.move.parts) {
        if (saving_.count({p.unit, p.candidate})) continue;
        double s = 0;
        // Against the baseline phase's kernel times (journaled), not the re-measured ones: the
        // same records give the same decisions, in a resumed search too.
        for (const std::string& n : c_.units[p.unit].affected)
          if (auto it = t.timing.per_kernel.find(n); it != t.timing.per_kernel.end()) {
            auto b = c_.base_kernel_ms.find(n);
            s += (b == c_.base_kernel_ms.end() ? 0.0 : b->second) - it->second.second;
          }
        saving_[{p.unit, p.candidate}] = s;
      }
    }
  }

  // Judges trial i in context; accepts it when the network stays legal.
  void judge(size_t i) {
    Trial& t = x_.trials[i];
    Assignment next = with(t.move);
    std::vector<double> f = predicted(t);
    t.ratio_before = x_.ratio;
    t.verdict = c_.judge.judge(assignment_steps(c_.units, next), c_.scope);
    t.judged = true;
    c_.faults.after_verdict(c_.judge.computed());
    for (const MovePart& p : t.move.parts) x_.covered[p.unit] = true;
    if (!t.verdict.rejected.empty()) {
      ++x_.rejected;
      ++x_.rejected_by_kind[t.verdict.reject_kind];
      return;
    }
    std::vector<double> used = spent(t.verdict);
    model_.observe(kind(t), f, used);
    if (!t.verdict.legal) return;
    for (size_t k = 0; k < used.size(); ++k) network_ratio_[k] -= used[k];
    double g = gain(t);
    t.accepted = int(x_.accepted.size());
    x_.assignment = std::move(next);
    x_.accepted.push_back(
        {i, x_.ratio, t.verdict.mean, g, estimate_ms(x_.assignment), x_.assignment});
    x_.ratio = t.verdict.mean;
    x_.verdict = t.verdict;
  }

  // Judges the pool's moves best first (fits the budget, then time saved per ratio spent) until
  // none saves time, `max_judges` verdicts were spent, or `go_on` says stop.
  bool uncovered(const std::vector<size_t>& ids) const {
    for (size_t i : ids)
      for (const MovePart& p : x_.trials[i].move.parts)
        if (!x_.covered[p.unit]) return true;
    return false;
  }

  // Judges the move of `ids` expected to spend least among those that save time and hold a unit
  // not judged yet (timed first, alone); returns the verdicts spent (0 or 1).
  int cover(const std::vector<size_t>& ids, Progress& progress) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      int best = -1;
      for (size_t i : ids) {
        Trial& t = x_.trials[i];
        if (t.judged || (t.timed && !t.timing.ok) || gain(t) <= 0 || !uncovered({i})) continue;
        t.estimated_spend = model_.estimate(kind(t), predicted(t));
        if (best < 0 || t.estimated_spend < x_.trials[best].estimated_spend) best = int(i);
      }
      if (best < 0) return 0;
      Trial& t = x_.trials[best];
      if (!t.timed) {
        time_trials({size_t(best)});
        if (!t.timing.ok || gain(t) <= 0) continue;
      }
      judge(size_t(best));
      progress.step(t.move.name + ": " + outcome(t) + " (coverage)", 1);
      return 1;
    }
    return 0;
  }

  static std::string outcome(const Trial& t) {
    if (!t.verdict.rejected.empty()) return "does not apply";
    return "ratio " + fmt3(t.verdict.mean) + (t.verdict.legal ? ", accepted" : ", illegal");
  }

  // Returns the number of verdicts spent.
  int run_pool(const std::vector<size_t>& pool, int max_judges, const std::function<bool()>& go_on,
               Progress& progress, int64_t step_per_verdict) {
    static constexpr size_t kTimingBatch = 8;
    int judged = 0;
    while (judged < max_judges) {
      check_interrupted();
      struct Ranked {
        bool fits;
        double value;
        size_t index;
      };
      std::vector<Ranked> ranked;
      for (size_t k : pool) {
        Trial& t = x_.trials[k];
        if (t.judged || (t.timed && !t.timing.ok)) continue;
        double g = gain(t);
        if (g <= 0) continue;
        t.estimated_spend = model_.estimate(kind(t), predicted(t));
        ranked.push_back({x_.ratio - t.estimated_spend >= c_.tau, g / t.estimated_spend, k});
      }
      std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
        return a.fits > b.fits || (a.fits == b.fits && a.value > b.value);
      });
      if (ranked.empty() || !go_on()) break;
      if (!x_.trials[ranked.front().index].timed) {
        // Measure before judging: the best few untimed moves, in one worker run.
        std::vector<size_t> batch;
        for (const Ranked& r : ranked)
          if (!x_.trials[r.index].timed && batch.size() < kTimingBatch) batch.push_back(r.index);
        progress.step("timing " + std::to_string(batch.size()) + " moves", 0);
        time_trials(batch);
        continue;
      }
      size_t i = ranked.front().index;
      judge(i);
      ++judged;
      const Trial& t = x_.trials[i];
      progress.step(t.move.name + ": " + outcome(t), step_per_verdict);
    }
    return judged;
  }

  // Per-unit refinement, the units with the most kernel time left first.
  void refine_units() {
    std::vector<size_t> order(c_.units.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto left_ms = [&](size_t u) { return unit_ms_[u] - saving_of(u, current(u)); };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return left_ms(a) > left_ms(b); });
    Progress p("explore units", int64_t(order.size()));
    double timing_before = timing_seconds_;  // the per-unit timing so far, for the share
    size_t done = 0;
    for (size_t u : order) {
      check_interrupted();
      if (c_.seconds_left() < judge_seconds()) {
        p.step(c_.units[u].name + ": not explored (budget)");
        ++done;
        continue;
      }
      int judges = c_.judges_per_unit;
      if (judges == 0) {
        double per_unit = c_.seconds_left() / double(order.size() - done) -
                          (done ? (timing_seconds_ - timing_before) / double(done) : 5.0);
        judges = std::clamp(int(per_unit / judge_seconds()), 1, 6);
      }
      ++done;
      const std::vector<size_t>& pool = unit_trials(u);
      run_pool(
          pool, judges, [&] { return c_.seconds_left() > judge_seconds(); }, p, 0);
      p.step(c_.units[u].name + (current(u) ? ": " + current(u)->text : ": unchanged"));
    }
    p.finish(std::to_string(x_.accepted.size()) + " accepted, ratio " + fmt3(x_.ratio));
  }

  // A unit's candidates worth timing: an estimated saving of at least 2% of its MACs, at most
  // kMaxTimed of them spread over the range of savings (the list is sorted by MACs).
  std::vector<Move> worth_timing(size_t u) const {
    static constexpr size_t kMaxTimed = 16;
    const SearchUnit& unit = c_.units[u];
    std::vector<Move> all = unit_moves(c_.units, u), worth;
    for (Move& m : all)
      if (-double(m.macs_delta) >= 0.02 * double(unit.macs) &&
          m.parts.front().candidate != current(u))
        worth.push_back(std::move(m));
    if (worth.size() <= kMaxTimed) return worth;
    std::vector<Move> spread;
    for (size_t k = 0; k < kMaxTimed; ++k)
      spread.push_back(worth[k * (worth.size() - 1) / (kMaxTimed - 1)]);
    return spread;
  }

  const ExploreContext& c_;
  Exploration x_;
  SpendModel model_;
  std::vector<double> network_ratio_ = std::vector<double>(model_.proxies(), 1.0);
  std::map<std::pair<size_t, const Candidate*>, double> saving_;
  std::vector<double> unit_ms_;
  double timing_seconds_ = 0;  // spent timing moves
  std::map<size_t, std::vector<size_t>> unit_trials_;
};

}  // namespace

std::vector<ArchStep> assignment_steps(const std::vector<SearchUnit>& units, const Assignment& a) {
  std::vector<ArchStep> steps;
  for (const auto& [u, c] : canonical(units, a)) steps.push_back({units[u].layers, c->text});
  return steps;
}

Exploration explore(const ExploreContext& ctx) {
  return Explorer(ctx).run();
}

}  // namespace nasx
