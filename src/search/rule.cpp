#include "search/rule.h"

#include <algorithm>
#include <cmath>

#include "support/error.h"
#include "support/text.h"
#include "torch/proxies.h"

namespace nasx {

std::string join_proxies(const std::vector<std::string>& proxies) {
  std::string s;
  for (const std::string& p : proxies) s += (s.empty() ? "" : ",") + p;
  return s;
}

std::string LegalityRule::proxy_list() const {
  return join_proxies(proxies);
}

Json LegalityRule::to_json() const {
  return Json{
      {"name", name}, {"proxies", proxies}, {"tau", tau}, {"samples", samples}, {"scope", scope}};
}

const std::vector<LegalityRule>& legality_rules() {
  static const std::vector<LegalityRule> rules = {
      // Calibrated by training (bench/proxy-experiment, docs/results.md): on 25 variants of
      // resnet18_cifar the rule accepting the most while accepting none that loses > 1 point.
      {"calibrated",
       {"fisher", "snip"},
       0.7,
       3,
       "network",
       "Fisher Potential and SNIP both keep a mean of 3 paired samples >= 0.7 of the network's "
       "(calibrated by training, docs/results.md)"},
      {"paired-fisher",
       {"fisher"},
       1.0,
       3,
       "block",
       "Fisher Potential, mean of 3 paired samples >= 1 on the network and each transformed "
       "block"},
      {"paper",
       {"fisher"},
       1.0,
       1,
       "network",
       "the paper's rule: the network's Fisher Potential on one minibatch does not drop"},
  };
  return rules;
}

const LegalityRule& legality_rule(const std::string& name) {
  std::string known;
  for (const LegalityRule& r : legality_rules()) {
    if (r.name == name) return r;
    known += (known.empty() ? "" : ", ") + r.name;
  }
  user_error("unknown legality rule '", name, "' (known: ", known, ")");
}

std::vector<std::string> parse_proxy_list(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& p : split(text, ',')) {
    const auto& names = proxy_names();
    NASX_USER_CHECK(std::find(names.begin(), names.end(), p) != names.end(), "unknown proxy '", p,
                    "' in --proxy '", text, "' (known: ", proxy_list(),
                    "; several separated by commas)");
    NASX_USER_CHECK(std::find(out.begin(), out.end(), p) == out.end(), "proxy '", p,
                    "' appears twice in --proxy '", text, "'");
    out.push_back(p);
  }
  return out;
}

LegalityRule resolve_rule(const std::string& name, const RuleOverrides& o) {
  LegalityRule r = legality_rule(name);
  bool custom = false;
  if (o.proxies) {
    std::vector<std::string> p = parse_proxy_list(*o.proxies);
    custom = custom || p != r.proxies;
    r.proxies = p;
  }
  if (o.tau) {
    NASX_USER_CHECK(std::isfinite(*o.tau) && *o.tau > 0 && *o.tau <= 100,
                    "--tau must be in (0, 100], got ", *o.tau);
    custom = custom || *o.tau != r.tau;
    r.tau = *o.tau;
  }
  if (o.samples) {
    NASX_USER_CHECK(*o.samples >= 1 && *o.samples <= 64, "--samples must be in [1, 64], got ",
                    *o.samples);
    custom = custom || *o.samples != r.samples;
    r.samples = *o.samples;
  }
  if (o.scope) {
    NASX_USER_CHECK(*o.scope == "block" || *o.scope == "network",
                    "--scope must be block or network, got '", *o.scope, "'");
    custom = custom || *o.scope != r.scope;
    r.scope = *o.scope;
  }
  if (custom) {
    r.summary = "rule " + r.name + " with options overridden";
    r.name = "custom";
  }
  return r;
}

}  // namespace nasx
