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
#include "search/search.h"
#include "search/space.h"
#include "support/journal.h"
#include "transform/sequence.h"
#include "tune/target.h"
#include "tune/tune.h"

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
  // One verdict and the references' values of its two samples, each once.
  std::vector<Json> lines = JsonLines((dir_ / "verdicts.jsonl").string()).read_all();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].count("reference") + lines[1].count("reference") + lines[2].count("key"), 3u);
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

TimingStats stats(double median_ms, int repeats) {
  return {median_ms, median_ms * 0.9, median_ms * 1.1, repeats};
}

TimingSummary timed(const std::string& layer, double baseline_ms, double candidate_ms) {
  TimingSummary t;
  t.timed = t.ok = true;
  t.kernels = {layer};
  t.baseline = stats(baseline_ms, 5);
  t.candidate = stats(candidate_ms, 5);
  return t;
}

VerdictSummary verdict(bool legal, double mean, bool uncertain) {
  VerdictSummary v;
  v.judged = true;
  v.legal = legal;
  v.binding = "network";
  v.mean = mean;
  v.min = 0.85;
  v.max = 0.99;
  v.margin = mean - 0.7;
  v.spread = 0.14;
  v.uncertain = uncertain;
  return v;
}

TrialReport trial(const std::string& unit, const std::string& sequence, double ratio_before) {
  TrialReport t;
  t.move = unit;
  t.level = "unit";
  t.units = t.layers = {unit};
  t.sequence = sequence;
  t.macs_delta = -1000;
  t.params_delta = -100;
  t.ratio_before = ratio_before;
  t.estimated_spend = 0.05;
  return t;
}

UnitReport unit(const std::string& name, bool covered, const std::string& chosen) {
  UnitReport u;
  u.name = name;
  u.layers = {name};
  u.macs = 4000;
  u.params = 400;
  u.baseline_kernels_ms = 1.0;
  u.candidates = 5;
  u.chosen = chosen;
  u.covered = covered;
  return u;
}

// A report as the search returns it: three units (one never judged), two accepted choices, an
// illegal trial whose mean is not finite, one rejected by shape and one whose kernels crashed.
SearchReport small_report() {
  SearchReport r;
  r.model = "resnet18_cifar";
  r.options = {
      {"seed", 0}, {"data", "fashion-mnist"}, {"batch", 64}, {"max_len", 3}, {"infer_batch", 1}};
  r.rule = {{"name", "calibrated"},
            {"proxies", {"fisher", "snip"}},
            {"tau", 0.7},
            {"samples", 3},
            {"scope", "network"}};
  r.budget_s = 60;
  r.target = {{"cpu", "test cpu"}, {"isa", "avx512f"}, {"threads", 2}};
  r.baseline = {1000000, 5000000, stats(10.0, 30), 0};
  r.result = {999800, 4998000, stats(8.0, 30), 1e-7};
  r.speedup = 1.25;
  r.speedup_min = 1.05;
  r.speedup_max = 1.47;
  r.estimated_ms = 9.2;
  r.final_verdict = verdict(true, 0.9, false);

  TrialReport group4 = trial("layer1.0.conv1", "group(4)", 1.0);
  group4.timing = timed("layer1.0.conv1", 1.0, 0.4);
  group4.verdict = verdict(true, 0.95, true);
  group4.accepted = 0;
  TrialReport depthwise = trial("layer1.0.conv1", "depthwise", 0.95);
  depthwise.timing = timed("layer1.0.conv1", 1.0, 0.2);
  depthwise.verdict = verdict(false, NAN, false);  // a ratio that was not finite
  TrialReport rejected = trial("layer2.0.conv1", "bottleneck(3)", 0.95);
  rejected.verdict.judged = true;
  rejected.verdict.reject_kind = "not divisible";
  rejected.verdict.message = "layer2.0.conv1: bottleneck(3): 64 channels are not divisible by 3";
  TrialReport crashed = trial("layer2.0.conv1", "split(2); group([2,4])", 0.95);
  crashed.verdict = verdict(true, 0.92, false);
  crashed.timing = timed("layer2.0.conv1", 0.8, 0.5);
  crashed.timing.ok = false;
  crashed.timing.error = "layer2.0.conv1: crashed (signal 11, Segmentation fault)";
  TrialReport group2 = trial("layer2.0.conv1", "group(2)", 0.95);
  group2.timing = timed("layer2.0.conv1", 0.8, 0.6);
  group2.verdict = verdict(true, 0.9, false);
  group2.accepted = 1;
  r.trials = {group4, depthwise, rejected, crashed, group2};
  r.choices = {{0, 1.0, 0.95, 0.6, 9.4, false}, {4, 0.95, 0.9, 0.2, 9.2, false}};

  r.units = {unit("layer1.0.conv1", true, "group(4)"), unit("layer2.0.conv1", true, "group(2)"),
             unit("layer4.1.conv2", false, "")};
  r.uncovered_units = {"layer4.1.conv2"};
  r.counts.units = 3;
  r.counts.generated = r.counts.candidates = r.counts.moves = 5;
  r.counts.rejected_by_shape = 1;
  r.counts.rejected_by_kind = {{"not divisible", 1}};
  r.counts.judged = r.counts.verdicts_computed = 4;
  r.counts.legal = 3;
  r.counts.illegal = 1;
  r.counts.timed = 3;
  r.counts.failed = 1;
  r.counts.accepted = 2;
  r.counts.units_covered = 2;
  r.seconds = {{"explore", 50.0}, {"total", 55.0}};
  return r;
}

TEST(Report, MarkdownAndPlotsFromTheReportAlone) {
  fs::path d = fs::temp_directory_path() / ("nasx-report-test-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  write_report(d.string(), small_report());
  std::ifstream f(d / "report.md");
  std::string md((std::istreambuf_iterator<char>(f)), {});
  for (const char* part :
       {"**1.25x** faster (1.05-1.47x)", "rule `calibrated`",
        "| 1 | `layer1.0.conv1` | `group(4)` | 1 | 1.000 -> 0.950 | 0.050 | 0.600 | 9.400 | "
        "verdict uncertain |",
        "| 2 | `layer2.0.conv1` | `group(2)` | 1 | 0.950 -> 0.900 | 0.050 | 0.200 | 9.200 |  |",
        "no choice was backed off", "## Failed candidates (skipped)", "signal 11",
        "2 of 3 units covered", "`layer4.1.conv2`", "| not divisible | 1 |"})
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n" << md;
  bool gnuplot = std::system("command -v gnuplot > /dev/null 2>&1") == 0;
  EXPECT_EQ(md.find("](speedup.png)") != std::string::npos, gnuplot) << md;
  for (const char* png : {"pareto.png", "trajectory.png", "speedup.png"})
    EXPECT_EQ(fs::exists(d / png), gnuplot) << png;
  std::ifstream j(d / "report.json");
  EXPECT_EQ(Json::parse(j), small_report().to_json());
  for (const auto& e : fs::directory_iterator(d))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(d);
}

TEST(Report, RoundTripsThroughJson) {
  SearchReport r = small_report();
  Json j = r.to_json();
  EXPECT_TRUE(j["trials"][1]["verdict"]["mean"].is_null());  // not finite: null
  SearchReport back = SearchReport::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  EXPECT_TRUE(std::isnan(back.trials[1].verdict.mean));
  EXPECT_EQ(back.trials[2].verdict.reject_kind, "not divisible");
  EXPECT_EQ(back.trials[3].timing.error, r.trials[3].timing.error);
  EXPECT_FALSE(back.trials[2].timing.timed);
  EXPECT_FALSE(back.verification.has_value());
  // With a verification by training: kept in report.json and shown in report.md.
  VerifyReport v;
  v.arch = Json{{"base", "resnet18_cifar"}};
  v.recipe = Json{{"epochs", 10}};
  v.original = {{"original", 0, 88.5, 200, 1000}, {"original", 1, 88.7, 210, 1000}};
  v.transformed = {{"transformed", 0, 88.0, 150, 500}};
  v.original_mean = 88.6;
  v.noise = 0.1;
  v.transformed_mean = 88.0;
  v.difference = -0.6;
  v.verdict = "kept";
  r.verification = v;
  SearchReport verified = SearchReport::from_json(r.to_json());
  ASSERT_TRUE(verified.verification.has_value());
  EXPECT_EQ(verified.to_json(), r.to_json());
  std::string md = report_markdown(verified, false);
  EXPECT_NE(md.find("## Verified by training"), std::string::npos) << md;
  EXPECT_NE(md.find("kept: 88.00%"), std::string::npos) << md;
  // What a reader of an older or partial report.json gets: defaults for what is missing.
  SearchReport empty = SearchReport::from_json(Json::object());
  EXPECT_TRUE(empty.choices.empty());
  EXPECT_EQ(empty.speedup, 1);
  EXPECT_FALSE(empty.final_verdict.judged);
}

// A search's result depends on the tuning records its kernels take their knobs from
// (~/.cache/nasx/tuning.jsonl), so they are part of its identity: absent without records, and
// another set of records is another identity (before: a resumed search mixed knobs silently).
TEST(SearchIdentity, NamesTheTuningRecordsItUses) {
  fs::path cache = fs::temp_directory_path() / ("nasx-identity-" + std::to_string(getpid()));
  fs::remove_all(cache);
  const char* old = std::getenv("XDG_CACHE_HOME");
  std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  SearchOptions o;
  o.model = "resnet18_cifar";
  EXPECT_FALSE(o.identity().contains("tuning"));
  fs::create_directories(cache / "nasx");
  std::string path = (cache / "nasx" / "tuning.jsonl").string();
  {
    RecordStore r(path, detect_target());
    r.add(MeasureRecord{"w1", "layer1.0.conv1 2,1,8", "ok", "", "w1", "2,1,8", {0.1, 0.1, 0.1, 5}});
  }
  Json first = o.identity();
  ASSERT_TRUE(first.contains("tuning")) << first.dump();
  EXPECT_EQ(first["tuning"]["records"], path);
  EXPECT_EQ(first["tuning"]["entries"], 1);
  {
    RecordStore r(path, detect_target());
    r.add(MeasureRecord{"w2", "layer2.0.conv1 1,1,8", "ok", "", "w2", "1,1,8", {0.2, 0.2, 0.2, 5}});
  }
  Json second = o.identity();
  EXPECT_NE(first["tuning"]["digest"], second["tuning"]["digest"]);
  EXPECT_EQ(second["tuning"]["entries"], 2);
  if (old)
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
  fs::remove_all(cache);
}

}  // namespace
}  // namespace nasx
