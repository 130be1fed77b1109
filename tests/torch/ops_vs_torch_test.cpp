// Every operator's generated kernel against LibTorch on random shapes drawn from a fixed seed:
// at least 200 per operator, max relative error (to the reference's max magnitude) <= 1e-4.
// Convolutions cover stride 1-2, padding 0-3, dilation 1-2, kernels 1/3/5/7, groups 1/2/4 and
// depthwise, odd spatial sizes, batch 1 and 4. Set NASX_FUZZ_CASES for a longer run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include <omp.h>

#include "codegen/toolchain.h"
#include "runtime/compiled_op.h"
#include "support/error.h"
#include "torch/reference.h"

namespace nasx {
namespace {

int cases_per_op() {
  const char* env = std::getenv("NASX_FUZZ_CASES");
  return env ? std::max(1, std::atoi(env)) : 200;
}

template <typename T>
T pick(std::mt19937_64& rng, std::initializer_list<T> values) {
  std::uniform_int_distribution<size_t> d(0, values.size() - 1);
  return *(values.begin() + d(rng));
}

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::vector<Tensor> random_params(const Op& op, uint64_t seed) {
  std::vector<Tensor> params;
  for (const ParamSpec& p : param_specs(op)) {
    if (p.name == "running_var") {
      params.push_back(Tensor::random_uniform(p.shape, seed++, 0.5f, 2.0f));
    } else {
      params.push_back(Tensor::random_normal(p.shape, seed++));
    }
  }
  return params;
}

// Compiles all instances into shared libraries at once, then compares each with LibTorch.
void check_against_torch(const std::vector<OpInstance>& instances, uint64_t seed) {
  std::vector<CompiledOp> compiled = compile_ops(instances);
  double worst = 0;
  for (size_t i = 0; i < instances.size(); ++i) {
    const OpInstance& inst = instances[i];
    std::vector<Tensor> inputs;
    for (size_t k = 0; k < inst.inputs.size(); ++k)
      inputs.push_back(Tensor::random_normal(inst.inputs[k], seed + 1000 * i + k));
    std::vector<Tensor> params = random_params(inst.op, seed + 1000 * i + 500);
    std::vector<const Tensor*> in_ptrs, param_ptrs;
    for (const Tensor& t : inputs) in_ptrs.push_back(&t);
    for (const Tensor& t : params) param_ptrs.push_back(&t);

    Tensor got = compiled[i].run(in_ptrs, param_ptrs);
    Tensor want = torch_reference(inst.op, inputs, params);
    ASSERT_EQ(got.shape, want.shape) << op_name(inst.op) << " case " << i;
    Agreement a = compare(got, want);
    worst = std::max(worst, a.max_rel_err);
    std::string what =
        op_name(inst.op) + " case " + std::to_string(i) + " inputs " + shape_string(inst.inputs[0]);
    if (auto* p = std::get_if<ConvProgram>(&inst.op)) what += "\n" + p->to_string();
    ASSERT_LE(a.max_rel_err, 1e-4) << what;
  }
  ::testing::Test::RecordProperty("worst_max_rel_err", std::to_string(worst));
}

TEST(OpsVsTorch, Conv) {
  std::mt19937_64 rng(42);
  std::vector<OpInstance> cases;
  while (static_cast<int>(cases.size()) < cases_per_op()) {
    ConvSpec s;
    int64_t kind = uniform(rng, 0, 3);  // 0,1: dense; 2: grouped; 3: depthwise
    s.in_channels = pick<int64_t>(rng, {1, 3, 4, 8, 12, 16, 32});
    s.groups = 1;
    if (kind == 2) {
      s.groups = pick<int64_t>(rng, {2, 4});
      s.in_channels = s.groups * pick<int64_t>(rng, {1, 2, 3, 8});
    } else if (kind == 3) {
      s.in_channels = pick<int64_t>(rng, {4, 8, 16, 32});
      s.groups = s.in_channels;
    }
    s.out_channels = s.groups * pick<int64_t>(rng, {1, 2, 3, 4, 8});
    s.in_h = pick<int64_t>(rng, {1, 5, 7, 8, 13, 16, 17, 32});
    s.in_w = pick<int64_t>(rng, {1, 5, 7, 8, 13, 16, 17, 32});
    s.kernel = pick<int64_t>(rng, {1, 3, 5, 7});
    s.stride = uniform(rng, 1, 2);
    s.pad = uniform(rng, 0, 3);
    s.dilation = uniform(rng, 1, 2);
    s.bias = uniform(rng, 0, 1) == 1;
    int64_t span = s.dilation * (s.kernel - 1) + 1;
    if (span > s.in_h + 2 * s.pad || span > s.in_w + 2 * s.pad) continue;  // invalid: redraw
    int64_t batch = pick<int64_t>(rng, {1, 4});
    ConvProgram p = ConvProgram::make(s);
    cases.push_back({p, {p.input_shape(batch)}});
  }
  check_against_torch(cases, 1);
}

Shape random_nchw(std::mt19937_64& rng) {
  return {pick<int64_t>(rng, {1, 4}), pick<int64_t>(rng, {1, 3, 8, 16, 19}),
          pick<int64_t>(rng, {1, 2, 7, 13, 16, 17}), pick<int64_t>(rng, {1, 3, 7, 13, 16, 17})};
}

TEST(OpsVsTorch, BatchNorm) {
  std::mt19937_64 rng(43);
  std::vector<OpInstance> cases;
  for (int i = 0; i < cases_per_op(); ++i) {
    Shape s = random_nchw(rng);
    cases.push_back({BatchNorm{s[1], pick<double>(rng, {1e-5, 1e-3})}, {s}});
  }
  check_against_torch(cases, 2);
}

TEST(OpsVsTorch, ReluAddFlatten) {
  std::mt19937_64 rng(44);
  std::vector<OpInstance> cases;
  for (int i = 0; i < cases_per_op(); ++i) {
    Shape s = random_nchw(rng);
    if (i % 3 == 0) s = {s[0], s[1] * s[2] * s[3] + 4097};  // crosses a parallel chunk edge
    cases.push_back({Relu{}, {s}});
    cases.push_back({ResidualAdd{}, {s, s}});
    cases.push_back({Flatten{}, {s}});
  }
  check_against_torch(cases, 3);
}

TEST(OpsVsTorch, Concat) {
  std::mt19937_64 rng(45);
  std::vector<OpInstance> cases;
  for (int i = 0; i < cases_per_op(); ++i) {
    Shape s = random_nchw(rng);
    int64_t parts = uniform(rng, 2, 4);
    Concat c;
    std::vector<Shape> in;
    for (int64_t k = 0; k < parts; ++k) {
      c.channels.push_back(pick<int64_t>(rng, {1, 3, 8, 32}));
      in.push_back({s[0], c.channels.back(), s[2], s[3]});
    }
    cases.push_back({c, in});
  }
  check_against_torch(cases, 4);
}

TEST(OpsVsTorch, Pooling) {
  std::mt19937_64 rng(46);
  std::vector<OpInstance> cases;
  while (static_cast<int>(cases.size()) < 2 * cases_per_op()) {
    Shape s = random_nchw(rng);
    int64_t k = pick<int64_t>(rng, {1, 2, 3, 5}), st = uniform(rng, 1, 3),
            p = uniform(rng, 0, k / 2);
    if (k > s[2] + 2 * p || k > s[3] + 2 * p) continue;
    if (cases.size() % 2 == 0) {
      cases.push_back({MaxPool{k, st, p}, {s}});
    } else {
      cases.push_back({AvgPool{k, st, p}, {s}});
    }
  }
  check_against_torch(cases, 5);
}

TEST(OpsVsTorch, GlobalAvgPoolAndLinear) {
  std::mt19937_64 rng(47);
  std::vector<OpInstance> cases;
  for (int i = 0; i < cases_per_op(); ++i) {
    cases.push_back({GlobalAvgPool{}, {random_nchw(rng)}});
    Linear l{pick<int64_t>(rng, {1, 7, 64, 512}), pick<int64_t>(rng, {1, 10, 100}),
             uniform(rng, 0, 1) == 1};
    cases.push_back({l, {{pick<int64_t>(rng, {1, 4}), l.in_features}}});
  }
  check_against_torch(cases, 6);
}

// The fused operators the runtime produces: conv + bias + residual + ReLU in one kernel, and
// batch norm + ReLU. Both conv schedules (direct for < 4 output channels per group, GEMM else).
TEST(OpsVsTorch, FusedOperators) {
  std::mt19937_64 rng(48);
  std::vector<OpInstance> cases;
  for (int i = 0; i < cases_per_op() / 2; ++i) {
    ConvSpec s;
    s.groups = pick<int64_t>(rng, {1, 1, 2});
    s.in_channels = s.groups * pick<int64_t>(rng, {1, 3, 8});
    s.out_channels = s.groups * pick<int64_t>(rng, {2, 4, 8, 16});
    s.in_h = pick<int64_t>(rng, {4, 7, 9, 16});
    s.in_w = pick<int64_t>(rng, {4, 7, 9, 16});
    s.kernel = pick<int64_t>(rng, {1, 3});
    s.stride = uniform(rng, 1, 2);
    s.pad = s.kernel / 2;
    s.bias = true;
    ConvProgram p = ConvProgram::make(s);
    int64_t batch = pick<int64_t>(rng, {1, 2});
    bool residual = uniform(rng, 0, 1) == 1, relu = uniform(rng, 0, 1) == 1;
    std::vector<Shape> in{p.input_shape(batch)};
    if (residual) in.push_back(p.output_shape(batch));
    cases.push_back({FusedConv{p, residual, relu}, in});
    Shape b = random_nchw(rng);
    cases.push_back({BatchNorm{b[1], 1e-5, true}, {b}});
  }
  check_against_torch(cases, 8);
}

// LibTorch sets the calling thread's OpenMP thread count when it initialises; the kernels must
// keep their own.
// The kernel itself reports the size of its parallel team, through its output.
TEST(Runtime, KernelsKeepTheirThreadsAfterLibTorchSetsItsOwn) {
  if (kernel_threads() < 2) GTEST_SKIP() << "one processor: every count is 1";
  CompileResult lib = compile_and_load(
      "#include <omp.h>\n"
      "extern \"C\" void team(float* const* a) {\n"
      "#pragma omp parallel\n"
      "  {\n"
      "#pragma omp single\n"
      "    a[1][0] = float(omp_get_num_threads());\n"
      "  }\n"
      "}\n");
  CompiledOp op({Relu{}, {{1, 1}}}, {1, 1}, reinterpret_cast<KernelFn>(lib.library->symbol("team")),
                nullptr);
  set_torch_threads(1);
  torch_reference(Relu{}, {Tensor::random_normal({1, 8}, 1)}, {});
  EXPECT_EQ(omp_get_max_threads(), 1);  // what LibTorch left on this thread
  Tensor x({1, 1});
  EXPECT_EQ(op.run({&x}, {}).data[0], float(kernel_threads()));
  set_torch_threads(kernel_threads());
}

// Convolution programs with several statements (written directly, as later transformations
// will produce them): split output channels, a peeled part over some input channels, row tiles
// with their own zero padding. Both lowerings must still agree.
TEST(OpsVsTorch, MultiStatementConvPrograms) {
  ConvProgram base = ConvProgram::make({8, 12, 12, 8, 3, 1, 1, 1, 1, true});
  std::vector<OpInstance> cases;

  ConvProgram split = base;  // output channels [0,4) dense, [4,8) in 2 groups
  split.statements = {base.statements[0], base.statements[0]};
  split.statements[0].co_end = 4;
  split.statements[1].co_begin = 4;
  split.statements[1].groups = 2;
  split.statements[1].ci_per_group = 4;
  cases.push_back({split, {split.input_shape(2)}});

  ConvProgram peel = base;  // co < 2 over all ci; co >= 2 over ci >= 2 in 2 groups of 3
  peel.statements = {base.statements[0], base.statements[0]};
  peel.statements[0].co_end = 2;
  peel.statements[1].co_begin = 2;
  peel.statements[1].ci_base = 2;
  peel.statements[1].groups = 2;
  peel.statements[1].ci_per_group = 3;
  cases.push_back({peel, {peel.input_shape(1)}});

  ConvProgram tiles = base;  // two row tiles, each padded with zeros at its own edges
  tiles.statements = {base.statements[0], base.statements[0]};
  tiles.statements[0].y_end = 6;
  tiles.statements[0].row_end = 6;
  tiles.statements[1].y_begin = 6;
  tiles.statements[1].row_begin = 6;
  cases.push_back({tiles, {tiles.input_shape(1)}});
  for (const OpInstance& c : cases) std::get<ConvProgram>(c.op).verify();
  check_against_torch(cases, 7);
}

}  // namespace
}  // namespace nasx
