// The blocked convolution template (src/lower/conv_blocked.h) against LibTorch: random shapes
// of every kind it takes (dense, groups spanning vectors, several groups per vector, depthwise,
// the first layer's 3 channels, fused residual + ReLU, split / peeled / row-tiled programs), each
// with the rule's knobs and with knobs drawn from its space. The same binary runs again with
// NASX_ISA=avx2 (tests/CMakeLists.txt), so the 8-lane path is checked on an AVX-512 machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "lower/conv_blocked.h"
#include "runtime/compiled_op.h"
#include "runtime/layouts.h"
#include "support/cpu.h"
#include "torch/reference.h"

namespace nasx {
namespace {

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
template <typename T>
T pick(std::mt19937_64& rng, std::initializer_list<T> values) {
  return *(values.begin() + uniform(rng, 0, int64_t(values.size()) - 1));
}

void compare_with_torch(const std::vector<OpInstance>& cases, uint64_t seed);

// Lays out each case as the runtime would; with `random_knobs`, draws each statement's knobs.
void check_templates(std::vector<OpInstance> cases, uint64_t seed, bool random_knobs) {
  const char* forced = std::getenv("NASX_ISA");
  __builtin_cpu_init();
  if (forced && std::string(forced) == "avx2" && !__builtin_cpu_supports("avx2"))
    GTEST_SKIP() << "NASX_ISA=avx2 on a CPU without AVX2";
  const Isa& isa = target_isa();
  if (isa.lanes == 0) GTEST_SKIP() << "no vector ISA: the blocked template is not used";
  std::mt19937_64 rng(seed);
  for (OpInstance& c : cases) {
    c.layouts = op_layouts(c.op, c.inputs, isa.lanes);
    const ConvProgram& p = *conv_program_of(c.op);
    if (!random_knobs || c.layouts.back().plain()) continue;
    for (size_t s = 0; s < p.statements.size(); ++s) {
      std::vector<ConvKnobs> space = conv_knob_space(p, s, knob_target());
      c.knobs.push_back(space[uniform(rng, 0, int64_t(space.size()) - 1)]);
    }
  }
  compare_with_torch(cases, seed);
}

// Compiles each laid-out case with its knobs and compares it with LibTorch.
void compare_with_torch(const std::vector<OpInstance>& cases, uint64_t seed) {
  std::vector<CompiledOp> compiled = compile_ops(cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    const OpInstance& c = cases[i];
    std::string what = op_name(c.op) + " case " + std::to_string(i) + " batch " +
                       std::to_string(c.inputs[0][0]) + "\n" + conv_program_of(c.op)->to_string();
    for (const std::string& t : compiled[i].templates()) {
      what += " [" + t + "]";
      EXPECT_EQ(t.rfind("blocked", 0), 0u) << "the template must apply: " << what;
    }
    std::vector<Tensor> inputs, params;
    for (size_t k = 0; k < c.inputs.size(); ++k)
      inputs.push_back(Tensor::random_normal(c.inputs[k], seed + 100 * i + k));
    uint64_t s = seed + 100 * i + 50;
    for (const ParamSpec& ps : param_specs(c.op))
      params.push_back(Tensor::random_normal(ps.shape, s++));
    std::vector<const Tensor*> in_ptrs, param_ptrs;
    for (const Tensor& t : inputs) in_ptrs.push_back(&t);
    for (const Tensor& t : params) param_ptrs.push_back(&t);
    Agreement a =
        compare(compiled[i].run(in_ptrs, param_ptrs), torch_reference(c.op, inputs, params));
    ASSERT_LE(a.max_rel_err, 1e-4) << what;
  }
}

// Channel counts that divide into vectors of either ISA.
std::vector<OpInstance> random_convs(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<OpInstance> cases;
  while (static_cast<int>(cases.size()) < count) {
    ConvSpec s;
    int64_t kind = uniform(rng, 0, 4);  // dense, wide groups, packed groups, depthwise, stem
    s.in_channels = pick<int64_t>(rng, {16, 32, 48, 64});
    s.out_channels = pick<int64_t>(rng, {16, 32, 64});
    if (kind == 1) {
      s.groups = pick<int64_t>(rng, {2, 4});
      s.in_channels = s.groups * pick<int64_t>(rng, {8, 16});
      s.out_channels = s.groups * 16;
    } else if (kind == 2) {
      s.groups = pick<int64_t>(rng, {8, 16, 32});
      s.in_channels = s.groups * pick<int64_t>(rng, {1, 2, 4});
      s.out_channels = s.groups * pick<int64_t>(rng, {1, 2});
      if (s.out_channels % 16 != 0) continue;
    } else if (kind == 3) {
      s.in_channels = s.out_channels = s.groups = pick<int64_t>(rng, {16, 32, 64});
    } else if (kind == 4) {
      s.in_channels = pick<int64_t>(rng, {1, 3});
    }
    s.in_h = pick<int64_t>(rng, {1, 4, 5, 8, 13, 16});
    s.in_w = pick<int64_t>(rng, {1, 4, 5, 8, 13, 16});
    s.kernel = pick<int64_t>(rng, {1, 3, 5, 7});
    s.stride = uniform(rng, 1, 2);
    s.pad = uniform(rng, 0, 3);
    s.dilation = uniform(rng, 1, 2);
    s.bias = uniform(rng, 0, 1) == 1;
    int64_t span = s.dilation * (s.kernel - 1) + 1;
    if (span > s.in_h + 2 * s.pad || span > s.in_w + 2 * s.pad) continue;
    ConvProgram p = ConvProgram::make(s);
    int64_t batch = pick<int64_t>(rng, {1, 2});
    Shape in = p.input_shape(batch);
    if (uniform(rng, 0, 2) == 0) {  // fused epilogue: + residual, ReLU
      FusedConv f{p, true, true};
      cases.push_back({f, {in, p.output_shape(batch)}});
    } else {
      cases.push_back({p, {in}});
    }
  }
  return cases;
}

TEST(Templates, RandomConvsWithTheRulesKnobs) {
  check_templates(random_convs(11, 60), 1, false);
}

TEST(Templates, RandomConvsWithRandomKnobs) {
  check_templates(random_convs(12, 60), 2, true);
}

// Split, peeled and row-tiled programs: every statement gets its own template instance.
TEST(Templates, MultiStatementPrograms) {
  ConvProgram base = ConvProgram::make({32, 10, 10, 64, 3, 1, 1, 1, 1, true});
  std::vector<OpInstance> cases;
  ConvProgram split = base;  // [0,32) dense, [32,64) in 2 groups
  split.statements = {base.statements[0], base.statements[0]};
  split.statements[0].co_end = 32;
  split.statements[1].co_begin = 32;
  split.statements[1].groups = 2;
  split.statements[1].ci_per_group = 16;
  ConvProgram narrow = ConvProgram::make({32, 10, 10, 32, 3, 1, 1, 1, 1, true});
  ConvProgram peel = narrow;  // co < 16 over all ci; co >= 16 depthwise over ci >= 16
  peel.statements = {narrow.statements[0], narrow.statements[0]};
  peel.statements[0].co_end = 16;
  peel.statements[1].co_begin = 16;
  peel.statements[1].ci_base = 16;
  peel.statements[1].groups = 16;
  peel.statements[1].ci_per_group = 1;
  ConvProgram tiles = base;  // two row tiles, zero padded at their own edges
  tiles.statements = {base.statements[0], base.statements[0]};
  tiles.statements[0].y_end = tiles.statements[0].row_end = 4;
  tiles.statements[1].y_begin = tiles.statements[1].row_begin = 4;
  for (const ConvProgram* p : {&split, &peel, &tiles}) {
    p->verify();
    cases.push_back({*p, {p->input_shape(1)}});
    cases.push_back({*p, {p->input_shape(2)}});
  }
  check_templates(cases, 3, false);
  check_templates(cases, 4, true);
}

// The reduction in passes (ci_t): every pass size of the space, on dense, grouped and 1x1
// convolutions, with the fused residual and ReLU (applied after the last pass only) and bias
// (before the first), equals one pass and LibTorch.
TEST(Templates, ReductionPassesEqualOnePass) {
  const Isa& isa = target_isa();
  if (isa.lanes == 0) GTEST_SKIP() << "no vector ISA: the blocked template is not used";
  std::vector<OpInstance> cases;
  for (ConvSpec s :
       {ConvSpec{64, 9, 11, 32, 3, 1, 1, 1, 1, true}, ConvSpec{128, 6, 6, 64, 3, 1, 1, 1, 2, true},
        ConvSpec{64, 7, 7, 64, 1, 1, 0, 1, 1, false}}) {
    ConvProgram p = ConvProgram::make(s);
    for (bool fused : {false, true}) {
      OpInstance base =
          fused ? OpInstance{FusedConv{p, true, true}, {p.input_shape(2), p.output_shape(2)}}
                : OpInstance{p, {p.input_shape(1)}};
      base.layouts = op_layouts(base.op, base.inputs, isa.lanes);
      ConvKnobs rule = default_conv_knobs(p, 0, knob_target());
      int passes = 0;
      for (const ConvKnobs& k : conv_knob_space(p, 0, knob_target())) {
        if (k.ci_t == 0 || k.oc_v != rule.oc_v || k.oh_t != rule.oh_t || k.ow_t != rule.ow_t)
          continue;
        OpInstance c = base;
        c.knobs = {k};
        cases.push_back(c);
        ++passes;
      }
      EXPECT_GE(passes, 1) << p.to_string();
    }
  }
  compare_with_torch(cases, 5);
}

TEST(Templates, KnobsOutsideTheSpaceAreRefused) {
  const Isa& isa = target_isa();
  if (isa.lanes == 0) GTEST_SKIP();
  ConvProgram p = ConvProgram::make({64, 8, 8, 64, 3, 1, 1, 1, 1, false});
  OpInstance inst{p, {p.input_shape(1)}};
  inst.layouts = op_layouts(p, inst.inputs, isa.lanes);
  inst.knobs = {ConvKnobs{3, 1, 4}};  // 3 vectors do not divide 64 channels
  EXPECT_THROW(compile_op(inst), UserError);
}

}  // namespace
}  // namespace nasx
