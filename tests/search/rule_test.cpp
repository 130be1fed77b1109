// Legality rules: named rules, overrides, proxy lists; a unanimous vote of two proxies judged by
// the paired judge.
#include <gtest/gtest.h>

#include "graph/zoo.h"
#include "search/legality.h"
#include "search/rule.h"
#include "support/error.h"

namespace nasx {
namespace {

TEST(Rule, NamedRulesAndOverrides) {
  // The default is the rule calibrated by training (docs/results.md).
  const LegalityRule& d0 = legality_rules().front();
  EXPECT_EQ(d0.name, "calibrated");
  EXPECT_EQ(d0.proxies, (std::vector<std::string>{"fisher", "snip"}));
  EXPECT_EQ(d0.tau, 0.7);
  EXPECT_EQ(d0.samples, 3);
  EXPECT_EQ(d0.scope, "network");
  EXPECT_EQ(legality_rule("paired-fisher").scope, "block");
  const LegalityRule& paper = legality_rule("paper");
  EXPECT_EQ(paper.proxies, std::vector<std::string>{"fisher"});
  EXPECT_EQ(paper.tau, 1.0);
  EXPECT_EQ(paper.samples, 1);
  EXPECT_EQ(paper.scope, "network");

  LegalityRule same = resolve_rule("paper", RuleOverrides{"fisher", 1.0, 1, "network"});
  EXPECT_EQ(same.name, "paper") << "overrides equal to the rule keep its name";
  LegalityRule r = resolve_rule("paper", RuleOverrides{"zico,params", 0.9, 4, "block"});
  EXPECT_EQ(r.name, "custom");
  EXPECT_EQ(r.proxies, (std::vector<std::string>{"zico", "params"}));
  EXPECT_EQ(r.proxy_list(), "zico,params");
  EXPECT_EQ(r.tau, 0.9);
  EXPECT_EQ(r.samples, 4);
  EXPECT_EQ(r.scope, "block");
  LegalityRule d = resolve_rule(legality_rules().front().name, {});
  EXPECT_EQ(d.name, legality_rules().front().name);
}

TEST(Rule, BadRulesAreUserErrors) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { legality_rule("lenient"); }).find("unknown legality rule 'lenient'"),
            std::string::npos);
  EXPECT_NE(message([] { parse_proxy_list("fisher,zen"); }).find("unknown proxy 'zen'"),
            std::string::npos);
  EXPECT_NE(message([] { parse_proxy_list("fisher,"); }).find("unknown proxy ''"),
            std::string::npos);
  EXPECT_NE(message([] { parse_proxy_list("zico,zico"); }).find("appears twice"),
            std::string::npos);
  EXPECT_NE(message([] {
              resolve_rule("paper", RuleOverrides{{}, 0.0, {}, {}});
            }).find("--tau"),
            std::string::npos);
  EXPECT_NE(message([] {
              resolve_rule("paper", RuleOverrides{{}, {}, 0, {}});
            }).find("--samples"),
            std::string::npos);
  EXPECT_NE(message([] {
              resolve_rule("paper", RuleOverrides{{}, {}, {}, "layer"});
            }).find("--scope"),
            std::string::npos);
}

TEST(Rule, TwoProxiesVoteUnanimously) {
  JudgeConfig c;
  c.model = "resnet18_cifar";
  c.data = DatasetSpec::parse("synthetic");
  c.batch = 8;
  c.samples = 2;
  c.proxies = {"fisher", "params"};
  PairedJudge j(
      c,
      [](uint64_t s) {
        return build_zoo_model("resnet18_cifar", {s, 0});
      },
      "");
  std::vector<ArchStep> steps{{{"layer2.1.conv1"}, "group(4)"}};
  PairedVerdict v = j.judge(steps, "block");
  ASSERT_TRUE(v.rejected.empty()) << v.rejected;
  for (const char* name :
       {"fisher:network", "fisher:layer2.1", "params:network", "params:layer2.1"}) {
    ASSERT_TRUE(v.ratios.count(name)) << name;
    EXPECT_EQ(v.ratios.at(name).size(), 2u) << name;
  }
  EXPECT_EQ(v.judged_by.at("layer2.1.conv1"), "layer2.1");
  // group(4) removes three quarters of the conv's weights: the block's parameter count drops, so
  // params binds (its block ratio is the same on both samples) and the vote says illegal at 1.
  const std::vector<double>& pb = v.ratios.at("params:layer2.1");
  EXPECT_LT(pb[0], 1.0);
  EXPECT_EQ(pb[0], pb[1]);
  EXPECT_FALSE(v.legal);
  EXPECT_EQ(v.binding, "params:layer2.1");
  v.decide(0.01);
  EXPECT_TRUE(v.legal) << "every proxy passes a low enough tau";
}

}  // namespace
}  // namespace nasx
