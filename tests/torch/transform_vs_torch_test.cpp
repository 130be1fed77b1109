// Transformed convolutions against LibTorch.
// 1. The paper's three operators (section 7.3), each a sequence of nasx transformations, against
//    a direct LibTorch implementation of the authors' definition (slices, conv2d, cat).
// 2. A fuzz loop: random (shape, neural sequence, schedule) triples from a fixed seed, compiled
//    code against the LibTorch lowering of the same program. NASX_FUZZ_CASES sets the count
//    (default 300; e.g. NASX_FUZZ_CASES=5000 for a long run).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include "ir/printer.h"
#include "ir/visitor.h"
#include "lower/loop_nest.h"
#include "runtime/compiled_op.h"
#include "torch/reference.h"
#include "transform/schedule.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

using torch::indexing::Slice;

torch::Tensor T(const Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

// Runs the transformed program as generated code with the given per-statement weights.
Tensor run_nasx(const ConvProgram& p, const Tensor& x, const std::vector<Tensor>& w) {
  CompiledOp op = compile_op({p, {x.shape}});
  std::vector<const Tensor*> params;
  for (const Tensor& t : w) params.push_back(&t);
  return op.run({&x}, params);
}

std::vector<Tensor> random_weights(const ConvProgram& p, uint64_t seed) {
  std::vector<Tensor> w;
  for (const ParamSpec& s : param_specs(Op(p))) w.push_back(Tensor::random_normal(s.shape, seed++));
  return w;
}

double rel_err(const Tensor& got, const torch::Tensor& want) {
  Tensor w(Shape(want.sizes().begin(), want.sizes().end()));
  torch::Tensor c = want.contiguous();
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + w.size(), w.data.begin());
  return compare(got, w).max_rel_err;
}

TEST(PaperOperators, Seq1SplitThenGroupEachPart) {
  const int64_t ci = 32, co = 32, hw = 9, s = 4;
  const std::vector<int64_t> g = {1, 2, 4, 8};
  ConvProgram p = apply_sequence(parse_sequence("split(4); group([1,2,4,8])"),
                                 ConvProgram::make({ci, hw, hw, co, 3, 1, 1, 1, 1, false}))
                      .value();
  Tensor x = Tensor::random_normal(p.input_shape(2), 1);
  std::vector<Tensor> w = random_weights(p, 2);
  std::vector<torch::Tensor> parts;
  for (int64_t j = 0; j < s; ++j) parts.push_back(torch::conv2d(T(x), T(w[j]), {}, 1, 1, 1, g[j]));
  EXPECT_LE(rel_err(run_nasx(p, x, w), torch::cat(parts, 1)), 1e-4);
}

TEST(PaperOperators, Seq2PeelThenGroupTheRest) {
  const int64_t c = 32, hw = 8, u = 8, g = 4;
  ConvProgram p = apply_sequence(parse_sequence("peel(8); group(4)"),
                                 ConvProgram::make({c, hw, hw, c, 3, 1, 1, 1, 1, false}))
                      .value();
  Tensor x = Tensor::random_normal(p.input_shape(2), 3);
  std::vector<Tensor> w = random_weights(p, 4);
  torch::Tensor a = torch::conv2d(T(x), T(w[0]), {}, 1, 1);  // first u outputs, all inputs
  torch::Tensor b = torch::conv2d(T(x).index({Slice(), Slice(u, c)}), T(w[1]), {}, 1, 1, 1, g);
  EXPECT_LE(rel_err(run_nasx(p, x, w), torch::cat({a, b}, 1)), 1e-4);
}

TEST(PaperOperators, Seq3SpatialSplitWithOwnPadding) {
  for (int64_t stride : {1, 2}) {
    const int64_t c = 16, hw = 16, s = 2;
    ConvProgram p = apply_sequence(parse_sequence("spatial_split(2)"),
                                   ConvProgram::make({c, hw, hw, c, 3, stride, 1, 1, 1, false}))
                        .value();
    Tensor x = Tensor::random_normal(p.input_shape(1), 5);
    std::vector<Tensor> w = random_weights(p, 6);
    std::vector<torch::Tensor> tiles;
    for (int64_t t = 0; t < s; ++t) {
      torch::Tensor rows = T(x).index({Slice(), Slice(), Slice(t * hw / s, (t + 1) * hw / s)});
      tiles.push_back(torch::conv2d(rows, T(w[t]), {}, stride, 1));  // zero padding per tile
    }
    EXPECT_LE(rel_err(run_nasx(p, x, w), torch::cat(tiles, 2)), 1e-4) << "stride " << stride;
  }
}

// A random sequence of 1-3 neural transformations; rejected draws are redrawn.
NeuralTransform random_transform(std::mt19937_64& rng, size_t focus) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  switch (pick(0, 5)) {
    case 0:
      return Bottleneck{pick(1, 4)};
    case 1: {
      Group g;
      if (focus > 1 && pick(0, 1)) {
        for (size_t i = 0; i < focus; ++i) g.groups.push_back(int64_t(1) << pick(0, 2));
      } else {
        g.groups.push_back(pick(1, 4));
      }
      return g;
    }
    case 2:
      return Depthwise{};
    case 3:
      return IndexSplit{pick(2, 4)};
    case 4:
      return Peel{pick(1, 6)};
    default:
      return SpatialSplit{pick(2, 3)};
  }
}

int fuzz_cases() {
  const char* env = std::getenv("NASX_FUZZ_CASES");
  return env ? std::max(1, std::atoi(env)) : 300;
}

// The handle of the loop directly inside loop `a` (through lets), when there is one.
std::optional<std::string> loop_inside(const ScheduleState& st, const std::string& a) {
  struct Find : ir::IRVisitor {
    const ir::ExprNode* var = nullptr;
    const ir::For* found = nullptr;
    using ir::IRVisitor::visit;
    void visit(const ir::For* n) override {
      if (n->var.get() == var) found = n;
      ir::IRVisitor::visit(n);
    }
  } f;
  auto it = st.loops.find(a);
  if (it == st.loops.end()) return std::nullopt;
  f.var = it->second.get();
  f.visit_stmt(st.stmt);
  if (!f.found) return std::nullopt;
  ir::Stmt body = f.found->body;
  while (const ir::LetStmt* l = body.as<ir::LetStmt>()) body = l->body;
  const ir::For* inner = body.as<ir::For>();
  if (!inner) return std::nullopt;
  for (const auto& [address, var] : st.loops)
    if (var.get() == inner->var.get()) return address;
  return std::nullopt;
}

TEST(Fuzz, RandomNeuralAndScheduleTransformationsAgreeWithLibTorch) {
  std::mt19937_64 rng(2024);
  auto pick = [&](std::initializer_list<int64_t> v) {
    return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng));
  };
  std::vector<OpInstance> cases;
  std::vector<std::string> traces;
  const char* const primitives[] = {"split",  "reorder",   "fuse",    "tile",
                                    "unroll", "vectorize", "parallel"};
  std::map<int, int> drawn, rejected;  // per primitive
  while (static_cast<int>(cases.size()) < fuzz_cases()) {
    ConvSpec s{pick({4, 8, 12, 16}),
               pick({6, 8, 9, 12}),
               pick({5, 8, 12}),
               pick({4, 8, 12, 16}),
               pick({1, 3, 5}),
               pick({1, 2}),
               0,
               pick({1, 2}),
               1,
               pick({0, 1}) == 1};
    s.pad = pick({0, 1, 2});
    int64_t span = s.dilation * (s.kernel - 1) + 1;
    if (span > s.in_h + 2 * s.pad || span > s.in_w + 2 * s.pad) continue;
    FocusedProgram f = FocusedProgram::all(ConvProgram::make(s));
    NeuralSequence seq;
    int steps = static_cast<int>(pick({1, 2, 3}));
    for (int tries = 0; static_cast<int>(seq.size()) < steps && tries < 20; ++tries) {
      NeuralTransform t = random_transform(rng, f.focus.size());
      Expected<FocusedProgram> next = apply_neural(t, f);
      if (!next.ok()) continue;
      f = next.value();
      seq.push_back(t);
    }
    // Then 0-3 schedule transformations, every primitive drawn, on the loops' handles (which
    // stay valid through the sequence: name#k addresses the loops of multi-statement programs).
    Shape in = f.program.input_shape(pick({1, 2}));
    ScheduleState state(build_loop_nest(f.program, {in}, "k").body);
    Schedule schedule;
    int wanted = static_cast<int>(pick({0, 1, 2, 3}));
    for (int tries = 0; static_cast<int>(schedule.size()) < wanted && tries < 12; ++tries) {
      std::vector<std::string> loops = state.addresses();
      if (loops.empty()) break;
      std::string a = loops[std::uniform_int_distribution<size_t>(0, loops.size() - 1)(rng)];
      std::string b = loops[std::uniform_int_distribution<size_t>(0, loops.size() - 1)(rng)];
      if (std::optional<std::string> inner = loop_inside(state, a); inner && pick({0, 1}))
        b = *inner;  // half the time the loop directly inside a: reorder, fuse, tile can apply
      ScheduleTransform t;
      int primitive = static_cast<int>(pick({0, 1, 2, 3, 4, 5, 6}));
      switch (primitive) {
        case 0:
          t = SplitLoop{a, pick({2, 3, 4})};
          break;
        case 1:
          t = Reorder{a, b};
          break;
        case 2:
          t = FuseLoops{a, b};
          break;
        case 3:
          t = TileLoops{a, b, pick({2, 3}), pick({2, 4})};
          break;
        case 4:
          t = Unroll{a};
          break;
        case 5:
          t = Vectorize{a};
          break;
        default:
          t = Parallelize{a};
          break;
      }
      ++drawn[primitive];
      if (!apply_step(t, state).ok()) {
        ++rejected[primitive];
        continue;
      }
      schedule.push_back(t);
    }
    // The printed schedule replays from the unscheduled nest to the same statement.
    Expected<ir::Stmt> replay = apply_schedule(parse_schedule(print_schedule(schedule)),
                                               build_loop_nest(f.program, {in}, "k").body);
    ASSERT_TRUE(replay.ok()) << print_schedule(schedule) << ": " << replay.rejection().to_string();
    EXPECT_EQ(ir::to_string(replay.value()), ir::to_string(state.stmt)) << print_schedule(schedule);
    cases.push_back({f.program, {in}, schedule});
    traces.push_back(print_sequence(seq) + " | " + print_schedule(schedule));
  }
  // Every primitive was drawn, and none is rejected on every draw (one that always rejects would
  // otherwise be invisible here).
  for (int p = 0; p < 7; ++p) {
    std::printf("schedule fuzz: %-9s drawn %3d, rejected %3d\n", primitives[p], drawn[p],
                rejected[p]);
    EXPECT_GT(drawn[p], 0) << primitives[p];
    EXPECT_LT(rejected[p], drawn[p]) << primitives[p] << " was rejected on every draw";
  }
  std::vector<CompiledOp> compiled = compile_ops(cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    Tensor x = Tensor::random_normal(cases[i].inputs[0], 100 + i);
    std::vector<Tensor> w = random_weights(std::get<ConvProgram>(cases[i].op), 1000 * i);
    std::vector<const Tensor*> params;
    for (const Tensor& t : w) params.push_back(&t);
    Agreement a = compare(compiled[i].run({&x}, params), torch_reference(cases[i].op, {x}, w));
    ASSERT_LE(a.max_rel_err, 1e-4) << "case " << i << ": " << traces[i] << "\n"
                                   << std::get<ConvProgram>(cases[i].op).to_string();
  }
}

}  // namespace
}  // namespace nasx
