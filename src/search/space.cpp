#include "search/space.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "support/hash.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

std::vector<int64_t> divisors_up_to(int64_t n, int64_t limit) {
  std::vector<int64_t> d;
  for (int64_t k = 2; k <= std::min(n, limit); ++k)
    if (n % k == 0) d.push_back(k);
  return d;
}

// Group factors valid for one statement: divide its input channels per group and its output
// channels per group.
std::vector<int64_t> group_factors(const ConvStatement& s) {
  std::vector<int64_t> out;
  int64_t co_per_group = s.out_channels() / s.groups;
  for (int64_t g : divisors_up_to(s.ci_per_group, 32))
    if (co_per_group % g == 0) out.push_back(g);
  return out;
}

struct Enumerator {
  uint64_t seed;
  int max_len;
  SpaceCounts& counts;
  std::vector<std::pair<NeuralSequence, ConvProgram>> found;

  void emit(const NeuralSequence& seq, const ConvProgram& p) {
    for (const auto& [s, q] : found)
      if (q == p) {
        ++counts.duplicates;
        return;
      }
    found.emplace_back(seq, p);
  }

  // Tries one more step; on success records it and continues with the later parts.
  void step(const NeuralSequence& seq, const FocusedProgram& fp, const NeuralTransform& t,
            int part) {
    ++counts.generated;
    Expected<FocusedProgram> r = apply_neural(t, fp);
    if (!r.ok()) {
      ++counts.rejected[reject_kind_name(r.rejection().kind)];
      return;
    }
    NeuralSequence next = seq;
    next.push_back(t);
    emit(next, r.value().program);
    extend(next, r.value(), part);
  }

  // Steps from the parts after `part` (0 bottleneck, 1 structure, 2 grouping).
  void extend(const NeuralSequence& seq, const FocusedProgram& fp, int part) {
    if (static_cast<int>(seq.size()) >= max_len) return;
    const ConvProgram& p = fp.program;
    if (part < 0) {
      for (int64_t f : {2, 4, 8})
        if (p.out_channels % f == 0 && p.out_channels / f >= 4) step(seq, fp, Bottleneck{f}, 0);
    }
    if (part < 1) {
      int64_t co = p.out_channels;
      for (int64_t s : {2, 4})
        if (co % s == 0) step(seq, fp, IndexSplit{s}, 1);
      for (int64_t u : {co / 4, co / 2})
        if (u > 0 && u < co && u < p.in_channels) step(seq, fp, Peel{u}, 1);
      for (int64_t s : {2, 4})
        if (p.out_h % s == 0 && p.out_h / s >= 2) step(seq, fp, SpatialSplit{s}, 1);
    }
    if (part < 2) {
      std::vector<std::vector<int64_t>> valid;
      for (size_t i : fp.focus) valid.push_back(group_factors(p.statements[i]));
      if (valid.size() == 1) {
        for (int64_t g : valid[0]) step(seq, fp, Group{{g}}, 2);
      } else {
        // Uniform values, then seeded per-part lists (1 = leave that part dense).
        std::vector<int64_t> common = valid[0];
        for (const auto& v : valid) {
          std::vector<int64_t> both;
          std::set_intersection(common.begin(), common.end(), v.begin(), v.end(),
                                std::back_inserter(both));
          common = both;
        }
        for (int64_t g : common) step(seq, fp, Group{{g}}, 2);
        std::mt19937_64 rng(Hasher().add(std::to_string(seed)).add(print_sequence(seq)).low());
        for (int draw = 0; draw < 3; ++draw) {
          std::vector<int64_t> list;
          for (const auto& v : valid) {
            std::vector<int64_t> options{1};
            options.insert(options.end(), v.begin(), v.end());
            list.push_back(options[rng() % options.size()]);
          }
          if (std::adjacent_find(list.begin(), list.end(), std::not_equal_to<>()) != list.end())
            step(seq, fp, Group{list}, 2);
        }
      }
      step(seq, fp, Depthwise{}, 2);
    }
  }
};

// MACs and parameters of the nodes reading a channel class (convolutions and linear layers),
// which shrink with a bottleneck of that class.
struct ConsumerCost {
  int64_t macs = 0, params = 0;
  std::vector<std::string> names;
};
ConsumerCost consumer_cost(const Network& net, const ChannelCoupling& coupling,
                           const std::vector<Shape>& shapes, int cls) {
  int64_t macs = 0, params = 0;
  std::vector<std::string> names;
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    bool reader = std::holds_alternative<ConvProgram>(n.op) || std::holds_alternative<Linear>(n.op);
    if (!reader || n.inputs[0] == kNetworkInput || coupling.class_of[n.inputs[0]] != cls) continue;
    std::vector<Shape> in{shapes[n.inputs[0]]};
    macs += op_macs(n.op, in);
    params += param_count(n.op);
    names.push_back(n.name);
  }
  return {macs, params, names};
}

int64_t factor_of(const NeuralSequence& seq) {
  for (const NeuralTransform& t : seq)
    if (auto* b = std::get_if<Bottleneck>(&t)) return b->factor;
  return 1;
}

}  // namespace

int64_t SpaceCounts::rejected_total() const {
  int64_t n = 0;
  for (const auto& [k, v] : rejected) n += v;
  return n;
}

std::vector<SearchUnit> build_search_space(const Network& net,
                                           const std::vector<std::string>& layers, int max_len,
                                           uint64_t seed, SpaceCounts& counts) {
  ChannelCoupling coupling = analyze_channel_coupling(net);
  std::vector<Shape> shapes = net.infer_shapes(1);
  std::vector<SearchUnit> units;
  std::set<std::string> wanted(layers.begin(), layers.end());
  auto by_estimate = [](std::vector<Candidate>& c) {
    std::stable_sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
      return a.macs_delta < b.macs_delta;
    });
  };

  for (const std::string& layer : layers) {
    int index = net.find(layer);
    const ConvProgram& p = std::get<ConvProgram>(net.nodes[index].op);
    bool free = coupling.free(index);
    auto [cmacs, cparams, cnames] = consumer_cost(net, coupling, shapes, coupling.class_of[index]);
    Enumerator e{Hasher().add(std::to_string(seed)).add(layer).low(), max_len, counts, {}};
    e.extend({}, FocusedProgram::all(p), free ? -1 : 0);  // coupled: no lone bottleneck
    SearchUnit u{
        layer,   {layer}, false, p.macs() + (free ? cmacs : 0), p.params() + (free ? cparams : 0),
        {layer}, {}};
    if (free) u.affected.insert(u.affected.end(), cnames.begin(), cnames.end());
    for (auto& [seq, q] : e.found) {
      int64_t f = factor_of(seq);
      Candidate c{seq, print_sequence(seq), q.macs() - p.macs(), q.params() - p.params()};
      if (f > 1) {
        c.macs_delta -= cmacs - cmacs / f;
        c.params_delta -= cparams - cparams / f;
      }
      u.candidates.push_back(std::move(c));
    }
    by_estimate(u.candidates);
    units.push_back(std::move(u));
  }

  // Coupled classes: every producer bottlenecked together.
  std::set<int> classes;
  for (size_t i = 0; i < net.nodes.size(); ++i)
    if (std::holds_alternative<ConvProgram>(net.nodes[i].op) && !coupling.free(static_cast<int>(i)))
      classes.insert(coupling.class_of[i]);
  for (int cls : classes) {
    std::vector<std::string> producers;
    int64_t pmacs = 0, pparams = 0, channels = 0;
    bool all_wanted = true;
    for (size_t i = 0; i < net.nodes.size(); ++i) {
      const ConvProgram* p = std::get_if<ConvProgram>(&net.nodes[i].op);
      if (!p || coupling.class_of[i] != cls) continue;
      producers.push_back(net.nodes[i].name);
      all_wanted = all_wanted && wanted.count(net.nodes[i].name);
      pmacs += p->macs();
      pparams += p->params();
      channels = std::gcd(channels, p->out_channels);
    }
    if (producers.empty() || !all_wanted) continue;
    auto [cmacs, cparams, cnames] = consumer_cost(net, coupling, shapes, cls);
    std::string name = "coupled(" + producers.front() +
                       (producers.size() > 1 ? " +" + std::to_string(producers.size() - 1) : "") +
                       ")";
    SearchUnit u{name, producers, true, pmacs + cmacs, pparams + cparams, producers, {}};
    u.affected.insert(u.affected.end(), cnames.begin(), cnames.end());
    for (int64_t f : {2, 4}) {
      ++counts.generated;
      if (channels % f != 0 || channels / f < 4) {
        ++counts.rejected[reject_kind_name(RejectKind::NotDivisible)];
        continue;
      }
      NeuralSequence seq{Bottleneck{f}};
      u.candidates.push_back({seq, print_sequence(seq), -(pmacs + cmacs) + (pmacs + cmacs) / f,
                              -(pparams + cparams) + (pparams + cparams) / f});
    }
    by_estimate(u.candidates);
    if (!u.candidates.empty()) units.push_back(std::move(u));
  }
  return units;
}

}  // namespace nasx
