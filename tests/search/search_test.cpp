// src/search below the driver: the candidate space (grammar, divisor sets, shape filtering,
// determinism, coupled classes) and paired legality (cached verdicts, typed rejections, exact
// self-ratios).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "search/legality.h"
#include "search/space.h"
#include "support/journal.h"
#include "transform/sequence.h"

namespace nasx {
namespace {
namespace fs = std::filesystem;

const SearchUnit& unit_named(const std::vector<SearchUnit>& units, const std::string& name) {
  for (const SearchUnit& u : units)
    if (u.name == name) return u;
  ADD_FAILURE() << "no unit " << name;
  static const SearchUnit none;
  return none;
}

bool has_prefix(const SearchUnit& u, const std::string& prefix) {
  for (const Candidate& c : u.candidates)
    if (c.text.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(SearchSpace, GrammarCoversThePapersFamiliesAndEveryCandidateApplies) {
  Network net = build_zoo_model("resnet18_cifar");
  SpaceCounts counts;
  std::vector<SearchUnit> units =
      build_search_space(net, {"layer1.0.conv1", "layer2.0.conv2"}, 3, 7, counts);
  const SearchUnit& u = unit_named(units, "layer1.0.conv1");
  EXPECT_TRUE(has_prefix(u, "bottleneck(2)"));
  EXPECT_TRUE(has_prefix(u, "split(2); group(["));                // Seq1: one group per part
  EXPECT_TRUE(has_prefix(u, "peel(16); group("));                 // Seq2
  EXPECT_TRUE(has_prefix(u, "spatial_split(2)"));                 // Seq3
  EXPECT_TRUE(has_prefix(u, "bottleneck(2); split(2); group("));  // length 3
  EXPECT_TRUE(has_prefix(u, "depthwise"));
  const ConvProgram& p = std::get<ConvProgram>(net.nodes[net.find("layer1.0.conv1")].op);
  std::set<std::string> texts;
  for (const Candidate& c : u.candidates) {
    EXPECT_TRUE(apply_sequence(c.sequence, p).ok()) << c.text;
    EXPECT_TRUE(texts.insert(c.text).second) << "duplicate " << c.text;
    EXPECT_EQ(print_sequence(parse_sequence(c.text)), c.text);
    EXPECT_LE(c.sequence.size(), 3u);
  }
  // Fewest MACs first: the search bisects on this order.
  for (size_t i = 1; i < u.candidates.size(); ++i)
    EXPECT_LE(u.candidates[i - 1].macs_delta, u.candidates[i].macs_delta);
  // conv2 of a basic block writes into a residual add: no lone bottleneck.
  const SearchUnit& coupled = unit_named(units, "layer2.0.conv2");
  EXPECT_FALSE(has_prefix(coupled, "bottleneck"));
  EXPECT_TRUE(has_prefix(coupled, "group("));
  // Every step tried is accounted for: a candidate, a duplicate or a rejection by kind.
  int64_t kept = 0;
  for (const SearchUnit& x : units) kept += static_cast<int64_t>(x.candidates.size());
  EXPECT_EQ(counts.generated, kept + counts.duplicates + counts.rejected_total());
  EXPECT_GT(counts.rejected_total(), 0);
}

TEST(SearchSpace, DeterministicForASeedAndMaxLenBounds) {
  Network net = build_zoo_model("resnet18_cifar");
  auto texts = [&](uint64_t seed, int max_len) {
    SpaceCounts counts;
    std::vector<std::string> out;
    for (const SearchUnit& u : build_search_space(net, {"layer3.1.conv1"}, max_len, seed, counts))
      for (const Candidate& c : u.candidates) out.push_back(u.name + ": " + c.text);
    return out;
  };
  EXPECT_EQ(texts(3, 3), texts(3, 3));
  for (const std::string& t : texts(3, 1)) EXPECT_EQ(t.find(';'), std::string::npos) << t;
  EXPECT_LT(texts(3, 1).size(), texts(3, 2).size());
}

TEST(SearchSpace, CoupledClassesGetJointBottlenecksOnlyWhenEveryProducerIsIncluded) {
  Network net = build_zoo_model("resnet18_cifar");
  SpaceCounts counts;
  std::vector<std::string> all = match_conv_layers(net, "*");
  std::vector<SearchUnit> units = build_search_space(net, all, 3, 0, counts);
  const SearchUnit& stage2 = unit_named(units, "coupled(layer2.0.conv2 +2)");
  EXPECT_TRUE(stage2.joint);
  EXPECT_EQ(stage2.layers, (std::vector<std::string>{"layer2.0.conv2", "layer2.0.downsample.0",
                                                     "layer2.1.conv2"}));
  ASSERT_EQ(stage2.candidates.size(), 2u);
  EXPECT_EQ(stage2.candidates[0].text, "bottleneck(4)");
  // Each joint candidate applies to the network as a whole.
  Network copy = net;
  EXPECT_NO_THROW(transform_layers(copy, stage2.layers, stage2.candidates[1].sequence, 0));
  SpaceCounts c2;
  for (const SearchUnit& u :
       build_search_space(net, {"layer2.0.conv2", "layer2.1.conv2"}, 3, 0, c2))
    EXPECT_FALSE(u.joint) << u.name;  // the downsample is left out: no joint unit
}

class Judge : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nasx-judge-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  PairedJudge make() {
    JudgeConfig c;
    c.model = "resnet18_cifar";
    c.data = DatasetSpec::parse("synthetic");
    c.batch = 8;
    c.samples = 2;
    return PairedJudge(
        c,
        [](uint64_t s) {
          return build_zoo_model("resnet18_cifar", {s, 0});
        },
        (dir_ / "verdicts.jsonl").string());
  }
  fs::path dir_;
};

TEST_F(Judge, PairedVerdictsAreCachedAndJournaled) {
  PairedJudge j = make();
  std::vector<ArchStep> steps{{{"layer2.1.conv1"}, "group(4)"}};
  PairedVerdict a = j.judge(steps, "block");
  EXPECT_EQ(j.computed(), 1);
  ASSERT_TRUE(a.rejected.empty()) << a.rejected;
  EXPECT_EQ(a.ratios.at("network").size(), 2u);  // block scope: the block and the network
  EXPECT_EQ(a.ratios.at("layer2.1").size(), 2u);
  EXPECT_NE(a.ratios.at("layer2.1")[0], a.ratios.at("layer2.1")[1]);  // two different samples
  EXPECT_LE(a.min, a.mean);
  EXPECT_LE(a.mean, a.max);
  EXPECT_EQ(a.legal, a.mean >= 1.0);
  PairedVerdict b = j.judge(steps, "block");
  EXPECT_EQ(j.computed(), 1);  // from the cache
  EXPECT_EQ(a.ratios, b.ratios);
  // A new judge on the same journal (a resumed search) computes nothing either.
  PairedJudge again = make();
  EXPECT_TRUE(again.cached(steps, "block"));
  EXPECT_FALSE(again.cached(steps, "network"));
  EXPECT_EQ(again.judge(steps, "block").ratios, a.ratios);
  EXPECT_EQ(again.computed(), 0);
  EXPECT_EQ(JsonLines((dir_ / "verdicts.jsonl").string()).read_all().size(), 1u);
}

TEST_F(Judge, RejectionsAreTypedAndIdentityIsExactlyOne) {
  PairedJudge j = make();
  PairedVerdict r = j.judge({{{"layer2.1.conv1"}, "group(3)"}}, "block");
  EXPECT_EQ(r.reject_kind, "not divisible");
  EXPECT_FALSE(r.legal);
  PairedVerdict c = j.judge({{{"layer2.1.conv2"}, "bottleneck(2)"}}, "block");
  EXPECT_EQ(c.reject_kind, "coupled channels");
  // group(1) changes nothing: every sample's ratio is exactly 1, and the verdict is legal.
  PairedVerdict same = j.judge({{{"layer2.1.conv1"}, "group(1)"}}, "network");
  ASSERT_TRUE(same.rejected.empty()) << same.rejected;
  for (double v : same.ratios.at("network")) EXPECT_EQ(v, 1.0);
  EXPECT_TRUE(same.legal);
  same.decide(1.01);
  EXPECT_FALSE(same.legal);
  EXPECT_NEAR(same.margin(), -0.01, 1e-12);
}

}  // namespace
}  // namespace nasx
