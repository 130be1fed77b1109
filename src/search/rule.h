// Legality rules: which proxies judge a neural transformation, at which threshold, on how many
// paired samples, over which scope. A rule is a value; the named ones are what `--rule` picks in
// `nasx search` and `nasx legal`, and --proxy, --tau, --samples and --scope override one field.
//
// Several proxies make a unanimous vote: a transformation is legal when every proxy keeps its mean
// ratio candidate / reference at least tau (on the network and, in block scope, on every block
// holding a transformed layer). Where the named rules come from is in docs/legality.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "support/json.h"

namespace nasx {

struct LegalityRule {
  std::string name;                  // a named rule, or "custom" once a field is overridden
  std::vector<std::string> proxies;  // each must pass (a unanimous vote)
  double tau = 1;
  int samples = 3;  // paired samples (weights and minibatch from seed + k)
  std::string scope = "block";
  std::string summary;  // one line: what it is and where it comes from

  std::string proxy_list() const;  // "fisher,zico"
  Json to_json() const;
};

// {"fisher", "zico"} -> "fisher,zico"
std::string join_proxies(const std::vector<std::string>& proxies);

// The named rules; the first is the default of nasx search and nasx legal.
const std::vector<LegalityRule>& legality_rules();
// The named rule (UserError naming the known ones).
const LegalityRule& legality_rule(const std::string& name);
// "fisher,zico" -> {"fisher", "zico"}: known proxies, no repeats (UserError otherwise).
std::vector<std::string> parse_proxy_list(const std::string& text);

// What the command line sets over a named rule (unset fields keep the rule's).
struct RuleOverrides {
  std::optional<std::string> proxies;  // "fisher,zico"
  std::optional<double> tau;
  std::optional<int> samples;
  std::optional<std::string> scope;
};

// The named rule with the overrides applied and checked (UserError for a value out of range);
// named "custom" when an override changes it.
LegalityRule resolve_rule(const std::string& name, const RuleOverrides& overrides);

}  // namespace nasx
