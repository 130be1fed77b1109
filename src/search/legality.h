// Legality as a paired measurement with its spread. Sample k (k = 0..K-1) is a pair (weights
// initialised with seed + k, minibatch drawn with seed + k): the reference network and the
// candidate share every unchanged weight and the minibatch, so the ratio candidate / reference
// isolates the transformation. The reference's proxy values are computed once per sample and
// journaled beside the verdicts (a resumed search reads them back). All the gradient proxies a rule
// asks for come from one forward and backward pass per network and sample (compute_proxies).
//
// A verdict names, for every judged block (block scope) and for the network, the ratio on each
// sample. With several proxies (a unanimous vote) every name is prefixed by its proxy
// ("zico:network"), so the lowest mean over all of them binds. The rule: legal when the mean ratio
// is at least tau for the network and, in block scope, for every block containing a transformed
// layer. The verdict reports the binding one (lowest mean) with its mean, min and max, and the
// margin (mean - tau) against the spread (max - min) / 2: a margin inside the spread is flagged as
// uncertain.
//
// Block scope judges each block containing a transformed layer and the network's total too: a
// transformation can keep its own block's value while lowering the gradients that reach earlier
// blocks. (Measured: on resnet34_cifar, 25 choices legal by their own blocks alone assembled into
// a network whose Fisher ratio was 0.69.)
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/arch.h"
#include "search/rule.h"
#include "support/journal.h"
#include "support/json_in.h"
#include "torch/datasets.h"
#include "torch/proxies.h"

namespace nasx {

// A ratio as JSON: a number, or "inf", "-inf" or "nan" (JSON has no such numbers).
Json ratio_json(double v);

struct PairedVerdict {
  std::string rejected;     // the steps do not apply: the reason (then nothing was measured)
  std::string reject_kind;  // its RejectKind name
  std::string binding;      // block name or "network"
  std::map<std::string, std::vector<double>> ratios;  // per judged name, per sample
  // Each transformed layer -> the name judging it (its block, or "network"); filled when the
  // verdict is computed, not kept in the journal.
  std::map<std::string, std::string> judged_by;
  double mean = 0, min = 0, max = 0;  // of the binding ratios
  bool legal = false;
  double margin() const;  // mean - tau
  double spread() const { return (max - min) / 2; }
  bool uncertain() const { return std::abs(margin()) <= spread(); }
  double tau = 1;

  // Re-decides legality and the binding name for another tau (ratios are what is measured).
  void decide(double tau);
  Json to_json() const;
  static PairedVerdict from_json(const JsonIn& j);
};

struct JudgeConfig {
  std::string model;  // identity of the base (zoo name or arch file contents hash)
  DatasetSpec data;
  std::vector<std::string> proxies = {"fisher"};  // several: each must pass
  std::string scope = "block";
  double tau = 1;
  int64_t batch = 64;
  int samples = 3;
  uint64_t seed = 0;
};

class PairedJudge {
 public:
  // `make_reference(seed)` builds the untransformed network with weights from that seed.
  // `journal`: verdicts already measured (read at construction) and where new ones are appended.
  PairedJudge(JudgeConfig config, std::function<Network(uint64_t)> make_reference,
              const std::string& journal_path);

  // The verdict for these steps applied in order to the reference. Steps that do not apply give
  // a verdict with `rejected` set (and its kind), never legal.
  PairedVerdict judge(const std::vector<ArchStep>& steps, const std::string& scope);
  bool cached(const std::vector<ArchStep>& steps, const std::string& scope) const;
  int64_t computed() const { return computed_; }  // verdicts computed (not from the journal)
  double seconds_per_sample() const;              // measured so far (0 before the first)

  // The reference network of sample 0 (weights from `seed`). `journal_path` may be empty: then
  // nothing is read or kept.
  const Network& reference() { return sample(0).reference; }
  // The reference's proxy values on sample 0, one per proxy of the rule (in its order).
  const std::vector<ProxyResult>& reference_values() { return sample(0).values; }
  const std::vector<std::string>& proxies() const { return config_.proxies; }

 private:
  struct Sample {
    Network reference;
    Minibatch batch;
    std::vector<ProxyResult> values;  // per proxy
    bool ready = false;
  };
  Sample& sample(int k);
  std::string key(const std::vector<ArchStep>& steps, const std::string& scope) const;
  std::string reference_key(int k) const;

  JudgeConfig config_;
  std::function<Network(uint64_t)> make_reference_;
  std::vector<Sample> samples_;
  JsonLines journal_;
  std::map<std::string, PairedVerdict> cache_;
  std::map<std::string, std::vector<ProxyResult>> references_;  // journaled reference values
  int64_t computed_ = 0, samples_timed_ = 0;
  double seconds_ = 0;
};

// The judge of transformations applied to `base` (an architecture whose own steps, if any, are
// part of the reference) under `rule`: sample k rebuilds `base` with seed `seed` + k.
// `identity` keys the journal (the model's name or its file's hash).
PairedJudge make_arch_judge(const Arch& base, const std::string& identity, const DatasetSpec& data,
                            const LegalityRule& rule, int64_t batch, uint64_t seed,
                            const std::string& journal_path);

}  // namespace nasx
