// Golden tests of the IR: construction, printing, structural equality, substitution.
#include <gtest/gtest.h>

#include "ir/equality.h"
#include "ir/printer.h"
#include "ir/substitute.h"
#include "support/error.h"

namespace nasx::ir {
namespace {

TEST(IR, PrintsExpressionsFullyParenthesised) {
  Expr x = Var::make("x"), y = Var::make("y");
  EXPECT_EQ(to_string(x * 2 + y), "((x * 2) + y)");
  EXPECT_EQ(to_string(min(x, y) / 3), "(min(x, y) / 3)");
  EXPECT_EQ(to_string(x < y && Expr(0) <= x), "((x < y) && (0 <= x))");
  EXPECT_EQ(to_string(f32(0.5)), "0.5f");
}

TEST(IR, PrinterMakesDistinctVariablesWithTheSameHintUnique) {
  Expr a = Var::make("i"), b = Var::make("i");
  EXPECT_EQ(to_string(a + b), "(i + i_1)");
  EXPECT_EQ(to_string(a + a), "(i + i)");
}

TEST(IR, PrintsLoopNest) {
  Buffer out = make_buffer("out", {4, 8});
  Expr i = Var::make("i"), j = Var::make("j");
  Stmt s = For::make(i, 0, 4, ForKind::Parallel,
                     For::make(j, 0, 8, ForKind::Vectorized, Store::make(out, {i, j}, f32(1))));
  EXPECT_EQ(to_string(s),
            "parallel i in [0, +4) {\n"
            "  vectorized j in [0, +8) {\n"
            "    out[i, j] = 1f\n"
            "  }\n"
            "}\n");
}

TEST(IR, StructuralEqualityComparesFreeVariablesByIdentity) {
  Expr x = Var::make("x"), other_x = Var::make("x");
  EXPECT_TRUE(equal(x + 1, x + 1));
  EXPECT_FALSE(equal(x + 1, other_x + 1));
  EXPECT_FALSE(equal(x + 1, x + 2));
  EXPECT_FALSE(equal(x + 1, x - 1));
}

TEST(IR, StructuralEqualityIsUpToRenamingOfBoundVariables) {
  Buffer b = make_buffer("b", {10});
  auto make_loop = [&](const char* name) {
    Expr i = Var::make(name);
    return For::make(i, 0, 10, ForKind::Serial, Store::make(b, {i}, f32(0)));
  };
  EXPECT_TRUE(equal(make_loop("i"), make_loop("k")));
  Expr i = Var::make("i"), free = Var::make("j");
  Stmt uses_free = For::make(i, 0, 10, ForKind::Serial, Store::make(b, {free}, f32(0)));
  EXPECT_FALSE(equal(make_loop("i"), uses_free));
}

TEST(IR, StructuralHashIsUpToRenamingAndArgumentIdentity) {
  // Two lowerings of one kernel make their own buffers and variables: the hash must not see it.
  auto make = [](const char* var, const char* buf, int64_t extent, ForKind kind, float value) {
    Buffer b = make_buffer(buf, {16});
    Expr i = Var::make(var);
    Stmt s = For::make(i, 0, extent, kind, Store::make(b, {i}, f32(value)));
    return std::make_pair(s, std::vector<Buffer>{b});
  };
  auto [a, a_args] = make("i", "out", 16, ForKind::Serial, 1);
  auto [b, b_args] = make("k", "y", 16, ForKind::Serial, 1);
  EXPECT_EQ(structural_hash(a, a_args), structural_hash(b, b_args));
  EXPECT_EQ(structural_hash(a, a_args).size(), 32u);
  for (auto [c, c_args] :
       {make("i", "out", 8, ForKind::Serial, 1), make("i", "out", 16, ForKind::Parallel, 1),
        make("i", "out", 16, ForKind::Serial, 2)})
    EXPECT_NE(structural_hash(a, a_args), structural_hash(c, c_args));
  // Which argument a store writes is part of it; equal statements hash equal.
  Buffer x = make_buffer("x", {16}), y = make_buffer("y", {16});
  Expr i = Var::make("i");
  Stmt to_x = For::make(i, 0, 16, ForKind::Serial, Store::make(x, {i}, f32(0)));
  EXPECT_NE(structural_hash(to_x, {x, y}), structural_hash(to_x, {y, x}));
  EXPECT_TRUE(equal(a, a));
  EXPECT_EQ(structural_hash(a, a_args), structural_hash(a, a_args));
}

TEST(IR, MutatorKeepsUnchangedNodes) {
  Expr x = Var::make("x"), y = Var::make("y"), z = Var::make("z");
  Expr e = x * 2 + y;
  EXPECT_TRUE(substitute(e, z, Expr(5)).same_as(e));
  Expr r = substitute(e, y, Expr(7));
  EXPECT_FALSE(r.same_as(e));
  EXPECT_EQ(to_string(r), "((x * 2) + 7)");
}

TEST(IR, RejectsIllTypedConstruction) {
  Expr x = Var::make("x");
  EXPECT_THROW(x + f32(1), InternalError);
  EXPECT_THROW(Select::make(x, x, x), InternalError);
  Buffer b = make_buffer("b", {4});
  EXPECT_THROW(Store::make(b, {x}, x), InternalError);  // int stored into a float buffer
}

TEST(IR, NodeKindsAreNamed) {
  EXPECT_STREQ(node_kind_name(NodeKind::Add), "Add");
  EXPECT_STREQ(node_kind_name(NodeKind::For), "For");
}

}  // namespace
}  // namespace nasx::ir
