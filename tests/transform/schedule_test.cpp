// Schedule transformations: golden structure, a must-reject table (one per precondition), and
// every transformation shown to leave the compiled output unchanged.
#include <gtest/gtest.h>

#include "ir/printer.h"
#include "lower/loop_nest.h"
#include "runtime/compiled_op.h"
#include "transform/schedule.h"
#include "transform/sequence.h"

#include <algorithm>
#include <iostream>

namespace nasx {
namespace {

ir::Stmt nest(const Op& op, const Shape& in) {
  return build_loop_nest(op, {in}, "k").body;
}

ConvProgram depthwise() {
  return ConvProgram::make({8, 12, 12, 8, 3, 1, 1, 1, 8, true});
}
ConvProgram dense() {
  return ConvProgram::make({8, 12, 12, 16, 3, 1, 1, 1, 1, true});
}

TEST(Schedule, SplitMakesTwoLoopsAndGuardsARemainder) {
  ir::Stmt s = nest(depthwise(), depthwise().input_shape(1));
  ir::Stmt even = apply_schedule(parse_schedule("split(y, 4)"), s).value();
  std::string e = ir::to_string(even);
  EXPECT_NE(e.find("for yo in [0, +3)"), std::string::npos) << e;
  EXPECT_NE(e.find("for yi in [0, +4)"), std::string::npos) << e;
  // 4 divides 12: no remainder guard, only the padding guard the unsplit nest has.
  EXPECT_EQ(e.find("+ yi) < 12)"), std::string::npos) << e;
  auto guards = [](const std::string& text) {
    size_t n = 0;
    for (size_t at = text.find("if ("); at != std::string::npos; at = text.find("if (", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(guards(e), guards(ir::to_string(s)));
  std::string odd = ir::to_string(apply_schedule(parse_schedule("split(y, 5)"), s).value());
  EXPECT_NE(odd.find("for yo in [0, +3)"), std::string::npos) << odd;
  EXPECT_NE(odd.find("if ((((yo * 5) + yi) < 12))"), std::string::npos)
      << "guard for the remainder\n"
      << odd;
  EXPECT_EQ(guards(odd), guards(e) + 1);
}

TEST(Schedule, ReorderFuseTileUnrollVectorizeParallel) {
  ir::Stmt s = nest(dense(), dense().input_shape(2));
  std::string r = ir::to_string(apply_schedule(parse_schedule("reorder(ky, kx)"), s).value());
  EXPECT_LT(r.find("kx in"), r.find("ky in")) << r;
  std::string f = ir::to_string(apply_schedule(parse_schedule("fuse(ky, kx)"), s).value());
  EXPECT_NE(f.find("unrolled ky_kx in [0, +9)"), std::string::npos) << f;  // keeps ky's kind
  ir::Stmt pool = nest(MaxPool{2, 2, 0}, {1, 4, 16, 16});  // y and x perfectly nested, 8 x 8
  std::string t = ir::to_string(apply_schedule(parse_schedule("tile(y, x, 4, 2)"), pool).value());
  EXPECT_NE(t.find("for yo in [0, +2)"), std::string::npos) << t;
  EXPECT_LT(t.find("xo in [0, +4)"), t.find("yi in [0, +4)")) << t;
  EXPECT_LT(t.find("yi in"), t.find("xi in [0, +2)")) << t;
  std::string u =
      ir::to_string(apply_schedule(parse_schedule("split(k, 4); unroll(ki)"), s).value());
  EXPECT_NE(u.find("unrolled ki in [0, +4)"), std::string::npos) << u;
  EXPECT_FALSE(apply_schedule(parse_schedule("split(k, 8); vectorize(ki)"), s).ok())
      << "k is a reduction: vectorizing it must be rejected";
  std::string v = ir::to_string(
      apply_schedule(parse_schedule("split(chunk, 2)"), nest(Relu{}, {1, 100000})).value());
  EXPECT_NE(v.find("parallel chunko in [0, +13)"), std::string::npos) << v;  // kind stays outside
  EXPECT_NE(v.find("for chunki in [0, +2)"), std::string::npos) << v;
}

struct MustReject {
  std::string schedule;
  RejectKind kind;
  std::string fragment;
};

TEST(Schedule, MustRejectTable) {
  ir::Stmt s = nest(dense(), dense().input_shape(1));
  std::vector<MustReject> table = {
      {"split(nope, 2)", RejectKind::NoSuchLoop, "no loop named 'nope'"},
      {"split(pp, 2)", RejectKind::NoSuchLoop, "loops are named 'pp'"},
      {"split(k, 0)", RejectKind::OutOfRange, "at least 1"},
      {"reorder(ci, k)", RejectKind::NotPerfectlyNested, "is not exactly loop k"},
      {"fuse(task, ci)", RejectKind::NotPerfectlyNested, "is not exactly loop ci"},
      {"unroll(k)", RejectKind::OutOfRange, "72 copies"},
      {"unroll(tile)", RejectKind::NotConstant, "not a constant"},
      {"vectorize(k)", RejectKind::Dependence, "does not move with k"},
      {"parallel(k)", RejectKind::Dependence, "does not move with k"},
      {"parallel(ci)", RejectKind::Unsupported, "nested in parallel loop task"},
      {"tile(ci, kx, 2, 2)", RejectKind::NotPerfectlyNested, "not exactly loop kx"},
  };
  for (const MustReject& m : table) {
    Expected<ir::Stmt> r = apply_schedule(parse_schedule(m.schedule), s);
    ASSERT_FALSE(r.ok()) << m.schedule << " was accepted";
    EXPECT_EQ(r.rejection().kind, m.kind) << r.rejection().to_string();
    EXPECT_NE(r.rejection().to_string().find(m.fragment), std::string::npos)
        << r.rejection().to_string();
  }
  ir::Stmt d = nest(depthwise(), depthwise().input_shape(1));
  Expected<ir::Stmt> nested = apply_schedule(parse_schedule("parallel(y)"), d);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.rejection().message.find("nested in parallel loop"), std::string::npos)
      << nested.rejection().to_string();
}

// A name shared by several loops must be addressed with its position; every loop has an address.
TEST(Schedule, LoopsOfMultiStatementProgramsAreAddressable) {
  ConvProgram tiles = apply_sequence(parse_sequence("spatial_split(2)"), depthwise()).value();
  ir::Stmt s = nest(tiles, tiles.input_shape(1));
  Expected<ir::Stmt> ambiguous = apply_schedule(parse_schedule("split(y, 2)"), s);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.rejection().kind, RejectKind::NoSuchLoop);
  EXPECT_NE(ambiguous.rejection().message.find("y#0 .. y#1"), std::string::npos)
      << ambiguous.rejection().message;
  EXPECT_FALSE(apply_schedule(parse_schedule("split(y#2, 2)"), s).ok());
  EXPECT_FALSE(apply_schedule(parse_schedule("split(y#x, 2)"), s).ok());
  EXPECT_TRUE(apply_schedule(parse_schedule("split(y#1, 2)"), s).ok());
  std::vector<std::string> a = loop_addresses(s);
  EXPECT_NE(std::find(a.begin(), a.end(), "y#0"), a.end());
  EXPECT_NE(std::find(a.begin(), a.end(), "y#1"), a.end());
  EXPECT_EQ(std::find(a.begin(), a.end(), "y"), a.end());
  for (const std::string& loop : a) EXPECT_TRUE(apply_schedule(SplitLoop{loop, 2}, s).ok()) << loop;
  EXPECT_EQ(print_schedule(parse_schedule("split(y#1, 2); vectorize(x#0)")),
            "split(y#1, 2); vectorize(x#0)");
}

// Addresses are handles: valid for the whole sequence, never renumbered by an earlier step, and
// the loops a step creates are addressed from the loop they came from (issue 22's two defects).
TEST(Schedule, AddressesStayValidForTheWholeSequence) {
  ConvProgram tiles = apply_sequence(parse_sequence("spatial_split(2)"), depthwise()).value();
  ir::Stmt s = nest(tiles, tiles.input_shape(1));
  // After the first split, statement 1's y is still y#1 (it used to become plain y).
  Expected<ir::Stmt> both = apply_schedule(parse_schedule("split(y#0, 3); split(y#1, 2)"), s);
  EXPECT_TRUE(both.ok()) << both.rejection().to_string();
  // The created loops carry their statement: yo#0, yi#0, ...
  EXPECT_TRUE(
      apply_schedule(parse_schedule("split(y#0, 3); split(y#1, 2); unroll(yi#0); unroll(yi#1)"), s)
          .ok());
  // tile on a multi-statement address (its inner loop used to be named n_co#1i, unparseable).
  // Each statement's nest is parallel n_co { lets; for y { ... } }: n_co encloses y perfectly.
  Expected<ir::Stmt> tiled = apply_schedule(parse_schedule("tile(n_co#1, y#1, 2, 3)"), s);
  EXPECT_TRUE(tiled.ok()) << tiled.rejection().to_string();
  Expected<ir::Stmt> after = apply_schedule(
      parse_schedule("tile(n_co#1, y#1, 2, 3); unroll(yi#1); tile(n_co#0, y#0, 4, 2)"), s);
  EXPECT_TRUE(after.ok()) << after.rejection().to_string();
  // A loop a step consumed is gone, and says so.
  Expected<ir::Stmt> gone = apply_schedule(parse_schedule("split(y#0, 3); split(y#0, 2)"), s);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.rejection().kind, RejectKind::NoSuchLoop);
  // The state API returns the handles a step creates.
  ScheduleState st(s);
  Expected<std::vector<std::string>> made =
      apply_step(parse_schedule("tile(n_co#1, y#1, 2, 3)")[0], st);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made.value(), (std::vector<std::string>{"n_coo#1", "yo#1", "n_coi#1", "yi#1"}));
  std::vector<std::string> now = st.addresses();
  EXPECT_NE(std::find(now.begin(), now.end(), "y#0"), now.end());
  EXPECT_EQ(std::find(now.begin(), now.end(), "y#1"), now.end());
}

TEST(Schedule, PrintsAndParses) {
  std::string text =
      "split(x, 4); reorder(a, b); fuse(a, b); tile(y, x, 2, 8); unroll(ky); "
      "vectorize(xi); parallel(n_co)";
  EXPECT_EQ(print_schedule(parse_schedule(text)), text);
  EXPECT_THROW(parse_schedule("split(x)"), UserError);
  EXPECT_THROW(parse_schedule("spilt(x, 2)"), UserError);
  EXPECT_THROW(parse_schedule("split(x, two)"), UserError);
}

// Every schedule transformation leaves the output unchanged: the scheduled kernel against the
// default one on the same random input and weights.
TEST(Schedule, OutputIsUnchanged) {
  struct Case {
    Op op;
    Shape in;
    std::string schedule;
  };
  ConvProgram dw = depthwise(), dn = dense();
  // Multi-statement programs: one nest per statement, loops addressed as name#k.
  ConvProgram split = apply_sequence(parse_sequence("split(2)"), dn).value();
  ConvProgram tiles = apply_sequence(parse_sequence("spatial_split(2)"), dw).value();
  ConvProgram peel = apply_sequence(parse_sequence("peel(4); group(2)"), dn).value();
  std::vector<Case> cases = {
      {split, split.input_shape(2), "split(k#1, 5); unroll(ki#1)"},
      {split, split.input_shape(2), "split(task#0, 3); split(tile#1, 2)"},
      {tiles, tiles.input_shape(2), "split(y#1, 2); split(y#0, 3)"},
      {tiles, tiles.input_shape(1), "split(ci#0, 1); reorder(cio#0, cii#0)"},
      {peel, peel.input_shape(1), "split(k, 4); split(y, 3)"},
      {dw, dw.input_shape(2), "split(y, 5)"},
      {dw, dw.input_shape(2), "split(n_co, 3)"},
      {dw, dw.input_shape(2), "unroll(y)"},
      {dw, dw.input_shape(2), "split(ci, 1); reorder(cio, cii)"},
      {dn, dn.input_shape(2), "split(k, 5); unroll(ki)"},
      {dn, dn.input_shape(2), "reorder(ky, kx); split(ci, 3)"},
      {dn, dn.input_shape(2), "fuse(ky, kx); unroll(ky_kx)"},
      {dn, dn.input_shape(2), "split(tile, 2)"},
      {dn, dn.input_shape(2), "split(task, 3)"},
      {Relu{}, {3, 5000}, "split(i, 16); vectorize(ii)"},
      {dn, dn.input_shape(2), "reorder(ky, kx)"},
      {dn, dn.input_shape(2), "fuse(ky, kx)"},
      {MaxPool{3, 2, 1}, {2, 4, 9, 9}, "split(x, 2)"},
      {MaxPool{2, 2, 0}, {2, 4, 16, 16}, "tile(y, x, 4, 2)"},
      {MaxPool{2, 2, 0}, {2, 4, 16, 16}, "reorder(y, x)"},
      {MaxPool{2, 2, 0}, {2, 4, 16, 16}, "fuse(y, x); vectorize(y_x)"},
  };
  std::vector<OpInstance> instances;
  for (const Case& c : cases) {
    instances.push_back({c.op, {c.in}, {}});
    instances.push_back({c.op, {c.in}, parse_schedule(c.schedule)});
  }
  std::vector<CompiledOp> compiled = compile_ops(instances);
  for (size_t i = 0; i < cases.size(); ++i) {
    Tensor x = Tensor::random_normal(cases[i].in, i);
    std::vector<Tensor> params;
    for (const ParamSpec& p : param_specs(cases[i].op))
      params.push_back(Tensor::random_normal(p.shape, 100 + i));
    std::vector<const Tensor*> pp;
    for (const Tensor& t : params) pp.push_back(&t);
    Tensor a = compiled[2 * i].run({&x}, pp), b = compiled[2 * i + 1].run({&x}, pp);
    EXPECT_LE(compare(b, a).max_rel_err, 1e-6) << cases[i].schedule;
  }
}

}  // namespace
}  // namespace nasx
