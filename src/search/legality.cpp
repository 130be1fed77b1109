#include "search/legality.h"

#include <chrono>
#include <cmath>

#include "graph/transform_network.h"
#include "support/hash.h"
#include "support/log.h"
#include "transform/sequence.h"

namespace nasx {

// JSON has no infinities or NaNs: those ratios are written as strings, and read back.
Json ratio_json(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

double PairedVerdict::margin() const {
  return mean - tau;
}

void PairedVerdict::decide(double t) {
  tau = t;
  if (!rejected.empty()) {
    legal = false;
    return;
  }
  // The binding ratio is the lowest mean; a NaN mean (an undefined ratio) binds and is illegal.
  double lowest = INFINITY;
  binding.clear();
  for (const auto& [name, r] : ratios) {
    double m = 0;
    for (double v : r) m += v;
    m /= double(r.size());
    if (std::isnan(m) || binding.empty() || m < lowest) {
      lowest = m;
      binding = name;
      if (std::isnan(m)) break;
    }
  }
  const std::vector<double>& r = ratios.at(binding);
  mean = lowest;
  min = *std::min_element(r.begin(), r.end());
  max = *std::max_element(r.begin(), r.end());
  legal = !std::isnan(mean) && mean >= tau;
}

namespace {

// Read back what ratio_json writes.
double ratio_from(const JsonIn& j) {
  if (j.json().is_number()) return j.as_real();
  std::string s = j.json().is_string() ? j.as_string() : "";
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  if (s != "nan") j.fail("a number, \"inf\", \"-inf\" or \"nan\"");
  return NAN;
}

Json proxy_json(const ProxyResult& r) {
  Json blocks = Json::array();
  for (const BlockValue& b : r.blocks) blocks.push_back({b.name, ratio_json(b.value)});
  return Json{{"proxy", r.proxy}, {"total", ratio_json(r.total)}, {"blocks", blocks}};
}

ProxyResult proxy_from_json(const JsonIn& j) {
  ProxyResult r{j.require("proxy").as_string(), ratio_from(j.require("total")), {}};
  for (const JsonIn& b : j.list("blocks")) {
    if (!b.json().is_array() || b.json().size() != 2) b.fail("a [name, value] pair");
    r.blocks.push_back(
        {JsonIn(b.json()[0], b.origin()).as_string(), ratio_from(JsonIn(b.json()[1], b.origin()))});
  }
  return r;
}

}  // namespace

Json PairedVerdict::to_json() const {
  if (!rejected.empty()) return Json{{"rejected", rejected}, {"kind", reject_kind}};
  Json r = Json::object();
  for (const auto& [name, v] : ratios) {
    Json list = Json::array();
    for (double x : v) list.push_back(ratio_json(x));
    r[name] = list;
  }
  return Json{{"ratios", r}};
}

PairedVerdict PairedVerdict::from_json(const JsonIn& j) {
  PairedVerdict v;
  if (j.has("rejected")) {
    v.rejected = j.require("rejected").as_string();
    v.reject_kind = j.str("kind");
    return v;
  }
  j.require("ratios");
  for (const auto& [name, r] : j.entries("ratios")) {
    if (!r.json().is_array() || r.json().empty()) r.fail("a non-empty list");
    for (const JsonIn& x : j.field("ratios").list(name)) v.ratios[name].push_back(ratio_from(x));
  }
  if (v.ratios.empty()) j.field("ratios").fail("a verdict's ratios");
  return v;
}

PairedJudge::PairedJudge(JudgeConfig config, std::function<Network(uint64_t)> make_reference,
                         const std::string& journal_path)
    : config_(std::move(config)),
      make_reference_(std::move(make_reference)),
      samples_(config_.samples),
      journal_(journal_path) {
  NASX_USER_CHECK(config_.samples >= 1, "--samples must be at least 1, got ", config_.samples);
  int line = 0;
  for (const Json& record : journal_.read_all()) {
    JsonIn j(record, journal_path + ", record " + std::to_string(++line));
    try {
      if (j.has("reference")) {  // a sample's reference values
        std::vector<ProxyResult> values;
        for (const JsonIn& v : j.list("values")) values.push_back(proxy_from_json(v));
        if (values.size() == config_.proxies.size())
          references_[j.require("reference").as_string()] = std::move(values);
        continue;
      }
      cache_[j.require("key").as_string()] = PairedVerdict::from_json(j.require("verdict"));
      // The cost of a check, for sharing the budget after a resume.
      seconds_ += j.real("seconds");
      samples_timed_ += j.integer("samples_timed");
    } catch (const UserError& e) {
      // A record of another shape: skipped like a malformed line, said like one.
      log(LogLevel::Warn, "warning: skipping a journal record: ", e.what());
    }
  }
}

std::string PairedJudge::key(const std::vector<ArchStep>& steps, const std::string& scope) const {
  Hasher h;
  h.add("paired-verdict-1|")
      .add(config_.model)
      .add("|")
      .add(config_.data.to_string())
      .add("|")
      .add(join_proxies(config_.proxies));
  h.add("|").add(scope).add("|").add(std::to_string(config_.batch)).add("|");
  h.add(std::to_string(config_.samples)).add("|").add(std::to_string(config_.seed));
  for (const ArchStep& s : steps) {
    h.add("|");
    for (const std::string& l : s.layers) h.add(l).add(",");
    h.add(":").add(s.sequence);
  }
  return h.hex();
}

bool PairedJudge::cached(const std::vector<ArchStep>& steps, const std::string& scope) const {
  return cache_.count(key(steps, scope)) > 0;
}

double PairedJudge::seconds_per_sample() const {
  return samples_timed_ ? seconds_ / double(samples_timed_) : 0;
}

std::string PairedJudge::reference_key(int k) const {
  Hasher h;
  h.add("paired-reference-1|").add(config_.model).add("|").add(config_.data.to_string());
  h.add("|").add(join_proxies(config_.proxies)).add("|").add(std::to_string(config_.batch));
  h.add("|").add(std::to_string(config_.seed + static_cast<uint64_t>(k)));
  return h.hex();
}

PairedJudge::Sample& PairedJudge::sample(int k) {
  Sample& s = samples_[k];
  if (!s.ready) {
    uint64_t seed = config_.seed + static_cast<uint64_t>(k);
    s.reference = make_reference_(seed);
    s.batch = load_minibatch(config_.data, s.reference.input_chw, s.reference.num_classes,
                             config_.batch, seed);
    // The reference's values: computed once per search and journaled, so a resumed search reads
    // them back instead of computing them again.
    std::string key = reference_key(k);
    if (auto it = references_.find(key); it != references_.end()) {
      s.values = it->second;
    } else {
      s.values = compute_proxies(s.reference, s.batch, config_.proxies);
      Json values = Json::array();
      for (const ProxyResult& r : s.values) values.push_back(proxy_json(r));
      journal_.append(Json{{"reference", key}, {"sample", k}, {"values", values}});
      references_[key] = s.values;
    }
    s.ready = true;
  }
  return s;
}

PairedVerdict PairedJudge::judge(const std::vector<ArchStep>& steps, const std::string& scope) {
  std::string k = key(steps, scope);
  if (auto it = cache_.find(k); it != cache_.end()) {
    PairedVerdict v = it->second;
    v.decide(config_.tau);
    return v;
  }
  std::vector<std::string> layers;
  for (const ArchStep& s : steps) layers.insert(layers.end(), s.layers.begin(), s.layers.end());
  PairedVerdict v;
  double seconds_before = seconds_;
  int64_t timed_before = samples_timed_;
  std::vector<NeuralSequence> sequences;  // parsed once, applied to every sample
  for (const ArchStep& step : steps) sequences.push_back(parse_sequence(step.sequence));
  for (int i = 0; i < config_.samples; ++i) {
    Sample& s = sample(i);
    Network candidate = s.reference;
    try {
      for (size_t k = 0; k < steps.size(); ++k)
        transform_layers(candidate, steps[k].layers, sequences[k],
                         config_.seed + static_cast<uint64_t>(i));
    } catch (const TransformError& e) {
      v.rejected = e.what();
      v.reject_kind = reject_kind_name(e.kind);
      break;
    }
    bool several = config_.proxies.size() > 1;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<ProxyResult> values = compute_proxies(candidate, s.batch, config_.proxies);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t p = 0; p < config_.proxies.size(); ++p) {
      Legality l = proxy_legality_from(s.values[p], values[p], layers, config_.tau, scope);
      std::string prefix = several ? config_.proxies[p] + ":" : "";
      v.ratios[prefix + "network"].push_back(l.network.ratio);
      for (const ProxyRatio& b : l.blocks) v.ratios[prefix + b.name].push_back(b.ratio);
      for (const ProxyRatio& lv : l.layers) v.judged_by.emplace(lv.name, lv.by);
    }
    ++samples_timed_;
  }
  ++computed_;
  journal_.append(Json{{"key", k},
                       {"steps", arch_steps_json(steps)},
                       {"verdict", v.to_json()},
                       {"seconds", seconds_ - seconds_before},
                       {"samples_timed", samples_timed_ - timed_before}});
  cache_[k] = v;
  v.decide(config_.tau);
  return v;
}

PairedJudge make_arch_judge(const Arch& base, const std::string& identity, const DatasetSpec& data,
                            const LegalityRule& rule, int64_t batch, uint64_t seed,
                            const std::string& journal_path) {
  JudgeConfig c{identity, data, rule.proxies, rule.scope, rule.tau, batch, rule.samples, seed};
  return PairedJudge(
      c,
      [base](uint64_t s) {
        Arch a = base;
        a.seed = s;
        return a.build();
      },
      journal_path);
}

}  // namespace nasx
