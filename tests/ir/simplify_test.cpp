// Golden tests of the simplifier: the index arithmetic lowering produces, before and after.
#include <gtest/gtest.h>

#include "ir/equality.h"
#include "ir/printer.h"
#include "ir/simplify.h"

namespace nasx::ir {
namespace {

struct Case {
  Expr in;
  std::string expected;
};

TEST(Simplify, Table) {
  Expr x = Var::make("x"), y = Var::make("y");
  std::vector<Case> cases = {
      {Expr(3) + 4, "7"},
      {x + 0, "x"},
      {x * 1, "x"},
      {x * 0, "0"},
      {(x + 3) - 3, "x"},
      {(x + 2) + (y + 5), "((x + y) + 7)"},
      {x * 2 + x * 3, "(x * 5)"},
      {(x * 4 + 8) / 4, "(x + 2)"},
      {(x * 4 + 3) / 4, "x"},                    // floor((4x + 3) / 4) = x
      {(x * 4 + y) / 4, "(((x * 4) + y) / 4)"},  // not reducible without bounds on y  // not
                                                 // reducible without bounds
      {(x * 6 + 9) % 3, "0"},
      {x / 1, "x"},
      {Expr(-7) / 2, "-4"},  // floor division
      {Expr(-7) % 2, "1"},
      {min(x + 3, x + 5), "(x + 3)"},
      {max(x + 3, x + 5), "(x + 5)"},
      {min(Expr(2), Expr(9)), "2"},
      {x - x, "0"},
      {(x + 1) < (x + 2), "true"},
      {(x < y) && ((x + 1) <= x), "false"},
      {Select::make(x + 1 <= x + 1, y, x), "y"},
      {f32(1.5) + f32(2.0), "3.5f"},
      {(x / 8) * 8 + x % 8, "x"},
      {((x / 4) * 4 + x % 4) * 3 + y, "((x * 3) + y)"},
      {(x / 8) * 4 + x % 8, "(((x / 8) * 4) + (x % 8))"},  // coefficients do not match
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_string(simplify(c.in)), c.expected) << "input " << to_string(c.in);
  }
}

TEST(Simplify, RemovesEmptyAndUnitLoops) {
  Buffer b = make_buffer("b", {16});
  Expr i = Var::make("i"), j = Var::make("j");
  Stmt empty = For::make(i, 0, 0, ForKind::Serial, Store::make(b, {i}, f32(0)));
  EXPECT_EQ(to_string(simplify(empty)), "");
  Stmt unit = For::make(i, 3, 1, ForKind::Serial, Store::make(b, {i * 2}, f32(0)));
  EXPECT_EQ(to_string(simplify(unit)), "b[6] = 0f\n");
  Stmt nested = For::make(j, 0, 4, ForKind::Serial,
                          For::make(i, j, 1, ForKind::Serial, Store::make(b, {i + 1}, f32(0))));
  EXPECT_EQ(to_string(simplify(nested)), "for j in [0, +4) {\n  b[(j + 1)] = 0f\n}\n");
}

TEST(Simplify, InlinesTrivialLetsAndFoldsBranches) {
  Buffer b = make_buffer("b", {16});
  Expr v = Var::make("v"), i = Var::make("i");
  Stmt s = LetStmt::make(v, Expr(4), Store::make(b, {v + 1}, f32(0)));
  EXPECT_EQ(to_string(simplify(s)), "b[5] = 0f\n");
  Stmt branch =
      IfThenElse::make(Expr(1) < Expr(2), Store::make(b, {i}, f32(1)), Store::make(b, {i}, f32(2)));
  EXPECT_EQ(to_string(simplify(branch)), "b[i] = 1f\n");
}

TEST(Simplify, IsIdempotent) {
  Expr x = Var::make("x"), y = Var::make("y");
  Expr e = ((x * 3 + y) * 32 + 7) * 2 - y * 64;
  Expr once = simplify(e);
  EXPECT_TRUE(equal(simplify(once), once));
  EXPECT_EQ(to_string(once), "((x * 192) + 14)");
}

}  // namespace
}  // namespace nasx::ir
