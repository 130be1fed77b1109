// src/search below the driver: the candidate space (grammar, divisor sets, shape filtering,
// determinism, coupled classes) and paired legality (cached verdicts, typed rejections, exact
// self-ratios).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "search/legality.h"
#include "search/report.h"
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

namespace nasx {
namespace {

// A report as the search writes it: two units, one choice, one illegal and one failed candidate.
Json small_report() {
  auto timing = [](double b, double c) {
    return Json{
        {"ok", true},
        {"kernels", {"layer1.0.conv1"}},
        {"baseline", {{"median_ms", b}, {"min_ms", b * 0.9}, {"max_ms", b * 1.1}, {"repeats", 5}}},
        {"candidate", {{"median_ms", c}, {"min_ms", c * 0.9}, {"max_ms", c * 1.1}, {"repeats", 5}}},
        {"shared", false}};
  };
  Json legal{{"legal", true}, {"binding", "network"}, {"mean", 1.02},   {"min", 0.99},
             {"max", 1.05},   {"margin", 0.02},       {"spread", 0.03}, {"uncertain", true}};
  Json illegal = legal;
  illegal["legal"] = false;
  illegal["mean"] = nullptr;  // a ratio that was not finite
  Json trials = Json::array();
  trials.push_back({{"unit", "layer1.0.conv1"},
                    {"layers", {"layer1.0.conv1"}},
                    {"sequence", "group(4)"},
                    {"estimated_ms", 0.3},
                    {"macs_delta", -1000},
                    {"params_delta", -100},
                    {"verdict", legal},
                    {"timing", timing(1.0, 0.4)}});
  trials.push_back({{"unit", "layer1.0.conv1"},
                    {"layers", {"layer1.0.conv1"}},
                    {"sequence", "depthwise"},
                    {"estimated_ms", 0.1},
                    {"macs_delta", -1500},
                    {"params_delta", -150},
                    {"verdict", illegal}});
  Json failed = timing(1.0, 0.5);
  failed["ok"] = false;
  failed["error"] = "layer2.0.conv1: crashed (signal 11, Segmentation fault)";
  trials.push_back({{"unit", "layer2.0.conv1"},
                    {"layers", {"layer2.0.conv1"}},
                    {"sequence", "split(2); group([2,4])"},
                    {"estimated_ms", 0.2},
                    {"macs_delta", -800},
                    {"params_delta", -80},
                    {"verdict", legal},
                    {"timing", failed}});
  Json lat{{"median_ms", 10.0}, {"min_ms", 9.5}, {"max_ms", 11.0}, {"repeats", 30}};
  Json lat2{{"median_ms", 8.0}, {"min_ms", 7.5}, {"max_ms", 9.0}, {"repeats", 30}};
  Json counts = Json::object();
  for (const char* k : {"units", "generated", "duplicates", "candidates", "rejected_by_shape",
                        "skipped_by_estimate", "not_judged", "judged", "verdicts_computed", "legal",
                        "illegal", "timed", "failed"})
    counts[k] = 1;
  counts["rejected_by_kind"] = {{"not divisible", 1}};
  return Json{{"model", "resnet18_cifar"},
              {"options",
               {{"proxy", "fisher"},
                {"tau", 1.0},
                {"scope", "block"},
                {"samples", 3},
                {"batch", 64},
                {"data", "fashion-mnist"},
                {"seed", 0},
                {"max_len", 3},
                {"infer_batch", 1}}},
              {"budget_s", 60.0},
              {"target", {{"cpu", "test cpu"}, {"isa", "avx512f"}, {"threads", 2}}},
              {"baseline", {{"params", 1000000}, {"macs", 5000000}, {"latency", lat}}},
              {"result",
               {{"params", 999900},
                {"macs", 4999000},
                {"latency", lat2},
                {"max_rel_err_vs_libtorch", 1e-7}}},
              {"speedup", {{"median", 1.25}, {"min", 1.05}, {"max", 1.47}}},
              {"network_verdict", legal},
              {"counts", counts},
              {"unexplored_units", {"layer4.1.conv2"}},
              {"chosen", {0}},
              {"conflicts", Json::array()},
              {"backed_off", Json::array()},
              {"trials", trials},
              {"units",
               {{{"name", "layer1.0.conv1"}, {"macs", 4000}, {"params", 400}},
                {{"name", "layer2.0.conv1"}, {"macs", 4000}, {"params", 400}}}},
              {"seconds", {{"explore", 50.0}, {"total", 55.0}}}};
}

TEST(Report, MarkdownAndPlotsFromTheReportAlone) {
  fs::path d = fs::temp_directory_path() / ("nasx-report-test-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  write_report(d.string(), small_report());
  std::ifstream f(d / "report.md");
  std::string md((std::istreambuf_iterator<char>(f)), {});
  for (const char* part :
       {"**1.25x** faster (1.05-1.47x)", "| layer1.0.conv1 | `group(4)` |", "verdict uncertain",
        "## Failed candidates", "signal 11", "layer4.1.conv2", "not divisible 1"})
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n" << md;
  bool gnuplot = std::system("command -v gnuplot > /dev/null 2>&1") == 0;
  EXPECT_EQ(md.find("![per-unit speedup](speedup.png)") != std::string::npos, gnuplot) << md;
  EXPECT_EQ(fs::exists(d / "speedup.png"), gnuplot);
  EXPECT_EQ(fs::exists(d / "pareto.png"), gnuplot);
  EXPECT_TRUE(fs::exists(d / "report.json"));
  for (const auto& e : fs::directory_iterator(d))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(d);
}

}  // namespace
}  // namespace nasx
