// Unit tests of the IR-to-IR lowering passes: storage flattening (checked against ir::Layout's own
// packing) and loop unrolling.
#include <gtest/gtest.h>

#include "ir/printer.h"
#include "ir/simplify.h"
#include "ir/substitute.h"
#include "lower/flatten_storage.h"
#include "lower/unroll_loops.h"
#include "support/error.h"

namespace nasx {
namespace {

using namespace ir;

// The value of an index expression once every variable is given a constant.
int64_t eval(const Expr& e, const std::vector<Expr>& vars, const std::vector<int64_t>& values) {
  VarMap m;
  for (size_t d = 0; d < vars.size(); ++d) m[vars[d].get()] = Expr(values[d]);
  Expr v = simplify(substitute(e, m));
  const int64_t* c = as_const_int(v);
  EXPECT_TRUE(c) << to_string(v);
  return c ? *c : -1;
}

TEST(FlattenStorage, PlainBufferIsRowMajor) {
  Buffer b = make_buffer("b", {2, 3, 4});
  Expr i = Var::make("i"), j = Var::make("j"), k = Var::make("k");
  Stmt flat = flatten_storage(Store::make(b, {i, j, k}, f32(1)));
  const Store* st = flat.as<Store>();
  ASSERT_TRUE(st);
  ASSERT_EQ(st->indices.size(), 1u);
  for (int64_t x = 0; x < 2; ++x)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t z = 0; z < 4; ++z)
        EXPECT_EQ(eval(st->indices[0], {i, j, k}, {x, y, z}), (x * 3 + y) * 4 + z);
  // A one-dimensional plain access is already flat: left as it is.
  Stmt one_dim = Store::make(make_buffer("v", {8}), {i}, f32(1));
  EXPECT_TRUE(flatten_storage(one_dim).same_as(one_dim));
}

TEST(FlattenStorage, BlockedHaloBufferFollowsItsLayout) {
  std::vector<int64_t> shape = {2, 8, 3, 5};
  Layout layout = Layout::blocked(1, 4, 2, 1);  // NCHW4c, one zero element around H and W
  Buffer in = make_buffer("in", shape, Type::f32(), layout);
  Buffer out = make_buffer("out", {2 * 8 * 3 * 5});
  std::vector<Expr> v = {Var::make("n"), Var::make("c"), Var::make("y"), Var::make("x")};
  Stmt flat = flatten_storage(Store::make(out, {v[0]}, Load::make(in, v)));
  const Store* st = flat.as<Store>();
  ASSERT_TRUE(st);
  const Load* ld = st->value.as<Load>();
  ASSERT_TRUE(ld);
  ASSERT_EQ(ld->indices.size(), 1u);
  // to_physical places logical element f (here holding f + 1) where the load must read it.
  std::vector<float> logical(out->shape[0]);
  for (size_t f = 0; f < logical.size(); ++f) logical[f] = static_cast<float>(f + 1);
  std::vector<float> physical = to_physical(logical, shape, layout);
  int64_t f = 0;
  for (int64_t n = 0; n < shape[0]; ++n)
    for (int64_t c = 0; c < shape[1]; ++c)
      for (int64_t y = 0; y < shape[2]; ++y)
        for (int64_t x = 0; x < shape[3]; ++x, ++f) {
          int64_t p = eval(ld->indices[0], v, {n, c, y, x});
          ASSERT_TRUE(p >= 0 && p < in->physical_size()) << p;
          EXPECT_EQ(physical[p], static_cast<float>(f + 1))
              << "n=" << n << " c=" << c << " y=" << y << " x=" << x;
        }
}

TEST(UnrollLoops, ConstantExtentBecomesCopiesOfTheBody) {
  Buffer b = make_buffer("b", {16});
  Expr i = Var::make("i"), j = Var::make("j");
  Stmt s = For::make(j, 0, 2, ForKind::Serial,
                     For::make(i, 1, Expr(1) + 2, ForKind::Unrolled,
                               Store::make(b, {j * 4 + i}, Load::make(b, {i}))));
  EXPECT_EQ(to_string(simplify(unroll_loops(s))),
            "for j in [0, +2) {\n"
            "  b[((j * 4) + 1)] = b[1]\n"
            "  b[((j * 4) + 2)] = b[2]\n"
            "  b[((j * 4) + 3)] = b[3]\n"
            "}\n");
  // Loops of other kinds are untouched.
  Stmt vectorized = For::make(i, 0, 4, ForKind::Vectorized, Store::make(b, {i}, f32(0)));
  EXPECT_TRUE(unroll_loops(vectorized).same_as(vectorized));
}

TEST(UnrollLoops, NonConstantExtentIsAnInternalError) {
  Buffer b = make_buffer("b", {16});
  Expr i = Var::make("i"), n = Var::make("n");
  Stmt s = For::make(i, 0, n, ForKind::Unrolled, Store::make(b, {i}, f32(0)));
  EXPECT_THROW(unroll_loops(s), InternalError);
}

}  // namespace
}  // namespace nasx
