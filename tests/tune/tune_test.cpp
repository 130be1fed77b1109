// src/tune: the worker survives kernels that crash or hang and pins the failure on them; records
// are appended as measured, read back, shared by equal workloads, and skip corrupt lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "codegen/module.h"
#include "codegen/toolchain.h"
#include "graph/zoo.h"
#include "program/conv_program.h"
#include "support/cpu.h"
#include "support/journal.h"
#include "tune/measure.h"
#include "tune/records.h"
#include "tune/tune.h"
#include "tune/worker.h"

namespace nasx {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("nasx-tune-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Three kernels: one adds its inputs, one dereferences null, one never returns.
const char* kSource = R"(
extern "C" void good(float* const* a) { for (int i = 0; i < 1024; ++i) a[2][i] = a[0][i] + a[1][i]; }
extern "C" void crash(float* const* a) { volatile float* p = nullptr; a[0][0] = *p; }
extern "C" void hang(float* const* a) { for (volatile int i = 0; ; ) { a[0][0] += i; } }
)";

TEST(Worker, SurvivesCrashingAndHangingKernels) {
  CompileResult lib = compile_and_load(kSource);
  std::string path = lib.library->path().string();
  std::vector<KernelJob> jobs{{"good", {1024, 1024, 1024}, ""},
                              {"crash", {1}, ""},
                              {"good", {1024, 1024, 1024}, ""},
                              {"hang", {1}, ""},
                              {"good", {1024, 1024, 1024}, ""}};
  WorkerOptions o;
  o.timeout_s = 1.5;
  o.repeat = 3;
  std::vector<size_t> seen;
  std::vector<JobResult> r =
      run_in_worker(path, jobs, o, [&](size_t i, const JobResult&) { seen.push_back(i); });
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[0].ok) << r[0].error;
  EXPECT_FALSE(r[1].ok);
  EXPECT_NE(r[1].error.find("signal 11"), std::string::npos) << r[1].error;
  EXPECT_TRUE(r[2].ok) << r[2].error;
  EXPECT_FALSE(r[3].ok);
  EXPECT_NE(r[3].error.find("timed out"), std::string::npos) << r[3].error;
  EXPECT_TRUE(r[4].ok) << r[4].error;
  EXPECT_GT(r[4].stats.median_ms, 0);
  EXPECT_LE(r[4].stats.min_ms, r[4].stats.median_ms);
  EXPECT_EQ(r[4].stats.repeats, 3);
  EXPECT_EQ(seen.size(), 5u);  // every result reported once
}

TEST(Worker, FaultHookAndMissingSymbol) {
  CompileResult lib = compile_and_load(kSource);
  std::string path = lib.library->path().string();
  WorkerOptions o;
  o.timeout_s = 1;
  o.repeat = 2;
  std::vector<JobResult> r = run_in_worker(
      path, {{"good", {1024, 1024, 1024}, "crash"}, {"good", {1024, 1024, 1024}, ""}}, o);
  EXPECT_FALSE(r[0].ok);
  EXPECT_TRUE(r[1].ok) << r[1].error;
  r = run_in_worker(path, {{"absent", {1}, ""}}, o);
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].error.find("absent"), std::string::npos) << r[0].error;
}

TEST(JsonLines, TornLineIsSkippedAndNextRecordSurvives) {
  fs::path d = fresh_dir("jsonl");
  std::string file = (d / "j.jsonl").string();
  {
    JsonLines j(file);
    j.append({{"a", 1}});
  }
  {
    std::ofstream f(file, std::ios::app);
    f << "{\"a\": 2, \"tor";  // a killed writer
  }
  {
    JsonLines j(file);
    j.append({{"a", 3}});
  }
  std::vector<Json> all = JsonLines(file).read_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["a"], 1);
  EXPECT_EQ(all[1]["a"], 3);
  fs::remove_all(d);
}

TEST(Records, ReadBackSkipCorruptAndOtherTargets) {
  fs::path d = fresh_dir("records");
  std::string file = (d / "records.jsonl").string();
  Target t = detect_target();
  Target other = t;
  other.cpu = "another cpu";
  {
    RecordStore s(file, t);
    s.add({"w1", "first", "ok", "", "", "", {1.0, 0.9, 1.2, 5}});
    s.add({"w2", "second", "failed", "crashed", "", "", {}});
    RecordStore o(file, other);
    o.add({"w3", "elsewhere", "ok", "", "", "", {2.0, 2.0, 2.0, 1}});
  }
  {
    std::ofstream f(file, std::ios::app);
    f << "not json at all\n{\"target\": 3}\n";
  }
  RecordStore s(file, t);
  EXPECT_EQ(s.size(), 2u);
  ASSERT_TRUE(s.find("w1"));
  EXPECT_DOUBLE_EQ(s.find("w1")->stats.median_ms, 1.0);
  ASSERT_TRUE(s.find("w2"));
  EXPECT_FALSE(s.find("w2")->ok());
  EXPECT_EQ(s.find("w3"), nullptr);  // another machine's record is never used
  fs::remove_all(d);
}

OpInstance conv(int64_t c, int64_t hw, int64_t groups) {
  ConvProgram p = ConvProgram::make({c, hw, hw, c, 3, 1, 1, 1, groups, false});
  return OpInstance{p, {p.input_shape(1)}};
}

TEST(MeasureOps, EqualWorkloadsShareOneRecordAndAreNotMeasuredTwice) {
  fs::path d = fresh_dir("measure");
  std::string file = (d / "records.jsonl").string();
  RecordStore s(file, detect_target());
  WorkerOptions o;
  o.repeat = 3;
  std::vector<MeasureRequest> req{{conv(16, 8, 1), "a", false, "", "", ""},
                                  {conv(16, 8, 1), "a again", false, "", "", ""},
                                  {conv(16, 8, 4), "grouped", false, "", "", ""}};
  std::vector<MeasureRecord> r = measure_ops(req, s, o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok()) << r[0].error;
  EXPECT_EQ(r[0].workload, r[1].workload);
  EXPECT_NE(r[0].workload, r[2].workload);
  EXPECT_EQ(JsonLines(file).read_all().size(), 2u);
  // A second call (a resumed search) measures nothing; `fresh` measures again.
  measure_ops(req, s, o);
  EXPECT_EQ(JsonLines(file).read_all().size(), 2u);
  req[2].fresh = true;
  measure_ops(req, s, o);
  EXPECT_EQ(JsonLines(file).read_all().size(), 3u);
  // A fresh store on the same file resumes from it.
  RecordStore again(file, detect_target());
  EXPECT_EQ(again.size(), 2u);
  fs::remove_all(d);
}

// One identity for "the same kernel": equal instances share it without lowering twice, another
// shape or group count changes it, and so do the compiler's flags (a NASX_DEBUG=1 -O0 timing is
// not filed under the -O3 kernel's key, as it was when the key left the flags out).
TEST(KernelKey, SameKernelSameKeyAndTheFlagsArePartOfIt) {
  OpInstance a = conv(16, 8, 1);
  EXPECT_EQ(identify(a), identify(conv(16, 8, 1)));  // the memo: lowered once
  EXPECT_EQ(kernel_key(a), kernel_key(conv(16, 8, 1)));
  EXPECT_NE(kernel_key(a), kernel_key(conv(16, 8, 4)));
  EXPECT_NE(kernel_key(a), kernel_key(conv(16, 4, 1)));
  LoweredKernel k = identify(a)->kernel;
  ToolchainConfig config = ToolchainConfig::from_env();
  EXPECT_EQ(kernel_key(k, config), kernel_key(a));
  LoweredKernel renamed = k;
  renamed.name = "another_name";
  EXPECT_EQ(kernel_key(renamed, config), kernel_key(k, config));
  ToolchainConfig debug = config;
  debug.flags += " -g -O0";
  EXPECT_NE(kernel_key(k, debug), kernel_key(k, config));
  setenv("NASX_DEBUG", "1", 1);
  std::string under_debug = kernel_key(a);
  unsetenv("NASX_DEBUG");
  EXPECT_NE(under_debug, kernel_key(a));
}

// An interrupted tuning (here: stopped by its budget after the first kernel) resumes where it
// stopped, measuring nothing twice; the network compiled with the best records computes the
// same as with the rule's knobs, and the chooser hands out each kernel's best variant.
TEST(Tune, ResumesWithoutRemeasuringAndAppliesTheBestRecords) {
  if (target_isa().lanes == 0) GTEST_SKIP() << "no vector ISA";
  fs::path d = fresh_dir("tune");
  std::string file = (d / "tuning.jsonl").string();
  Network net = build_zoo_model("resnet18_cifar", {0, 8});
  TuneOptions o;
  o.variants = 2;
  o.budget_seconds = 1e-9;  // stops after the first kernel, as an interruption would
  RecordStore first(file, detect_target());
  TuneSummary s1 = tune_network(net, 1, first, o);
  EXPECT_EQ(s1.tuned, 1);
  EXPECT_GT(s1.kernels, 3);
  EXPECT_EQ(JsonLines(file).read_all().size(), size_t(s1.measured));

  o.budget_seconds = 600;
  RecordStore second(file, detect_target());
  TuneSummary s2 = tune_network(net, 1, second, o);
  EXPECT_EQ(s2.tuned, s2.kernels);
  EXPECT_EQ(JsonLines(file).read_all().size(), size_t(s1.measured + s2.measured));
  TuneSummary s3 = tune_network(net, 1, second, o);
  EXPECT_EQ(s3.measured, 0);
  EXPECT_LE(s2.best_ms, s2.rule_ms);

  CompiledNetwork rule = CompiledNetwork::compile(net, 1);
  int chosen = 0;
  KnobChooser best = apply_records(second);
  CompiledNetwork tuned = CompiledNetwork::compile(net, 1, [&](OpInstance& inst) {
    best(inst);
    chosen += inst.knobs.empty() ? 0 : 1;
  });
  EXPECT_GT(chosen, 3);
  Tensor x = Tensor::random_normal(rule.input_shape(), 3);
  Tensor a = rule.run(x), b = tuned.run(x);
  ASSERT_EQ(a.data.size(), b.data.size());
  for (size_t i = 0; i < a.data.size(); ++i)
    ASSERT_NEAR(a.data[i], b.data[i], 1e-4f * (1 + std::abs(a.data[i])));
  fs::remove_all(d);
}

}  // namespace
}  // namespace nasx
