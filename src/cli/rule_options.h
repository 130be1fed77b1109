// --rule and the options that override one of its fields, shared by nasx search and nasx legal.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/options.h"
#include "search/rule.h"
#include "torch/proxies.h"

namespace nasx::cli {

struct RuleArgs {
  std::string rule = legality_rules().front().name;
  std::string proxy, scope;
  double tau = 1;
  int samples = 1;
  CLI::Option *proxy_opt = nullptr, *tau_opt = nullptr, *samples_opt = nullptr,
              *scope_opt = nullptr;

  void add_to(CLI::App* c) {
    std::string names;
    for (const LegalityRule& r : legality_rules()) names += (names.empty() ? "" : ", ") + r.name;
    c->add_option("--rule", rule,
                  "legality rule: " + names + " (default " + legality_rules().front().name +
                      "; docs/legality.md)");
    proxy_opt = c->add_option("--proxy", proxy,
                              "override the rule's proxies: " + proxy_list(" or ") +
                                  "; several separated by commas must all pass");
    tau_opt = c->add_option("--tau", tau, "override the rule's threshold on the mean ratio")
                  ->check(number_in(0, 100, true));
    samples_opt = c->add_option("--samples", samples,
                                "override the rule's paired samples (seed + k) per verdict")
                      ->check(integer_in(1, 64));
    scope_opt = c->add_option("--scope", scope, "override the rule's scope: block or network");
  }

  LegalityRule resolve() const {
    RuleOverrides o;
    if (proxy_opt->count()) o.proxies = proxy;
    if (tau_opt->count()) o.tau = tau;
    if (samples_opt->count()) o.samples = samples;
    if (scope_opt->count()) o.scope = scope;
    return resolve_rule(rule, o);
  }
};

}  // namespace nasx::cli
