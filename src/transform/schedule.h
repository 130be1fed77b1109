// Schedule transformations on the loop nest: they never change what is computed (up to the
// reassociation of floating-point sums when loops of a reduction are reordered).
//
// Loops are addressed by handles (TVM's LoopRV, in the printed language). In the statement a
// schedule starts from, a loop's handle is its variable's name (the names the lowering gives: y,
// ci, ky, k, tile, ...) when that names one loop, else name#k, the k-th loop of that name in
// program order: a split, peeled or row-tiled convolution has one nest per statement, so y#1 is
// the second statement's y. A handle stays valid for the whole sequence (never renumbered): a
// step that consumes a loop (split, fuse, tile) removes its handle and returns the handles of the
// loops it creates, named from the consumed ones in the same statement (split(y#1, f) creates
// yo#1 and yi#1, fuse(y#1, x#1) creates y_x#1); marking and reordering keep handles. Schedules
// print and parse as written (`split(y#1, 4); vectorize(yi#1)`). Each transformation checks its
// preconditions and returns a Rejection naming the violated one.
//
//   split(x, f)        x -> xo in [0, ceil(e/f)), xi in [0, f), x = min + xo*f + xi; a guard
//                      keeps xi in range when f does not divide the extent. Requires f >= 1.
//                      A vectorized x stays vectorized on xi; any other kind stays on xo.
//   reorder(a, b)      swaps a and the loop b directly inside it. Requires a's body to be exactly
//                      b (perfect nesting), b's bounds not to use a, and every buffer stored in
//                      the body to be read back only at the stored index (no reordered
//                      dependence other than a reduction into the same element).
//   fuse(a, b)         a and the loop b directly inside it become one loop a_b over the product.
//                      Requires perfect nesting and b's bounds not to use a.
//   tile(y, x, fy, fx) split(y, fy); split(x, fx); reorder(yi, xo): requires y to enclose x
//                      perfectly.
//   unroll(x)          marks x unrolled (expanded by the unroll_loops pass). Requires a constant
//                      extent of at most 64.
//   vectorize(x)       marks x vectorized. Requires independent iterations: every store in the
//                      body moves with x (its index changes by a non-zero constant per iteration)
//                      and is read back only at the same index; no parallel loop inside.
//   parallel(x)        marks x parallel. Requires independent iterations (as for vectorize) and
//                      no parallel loop around or inside it.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "ir/ir.h"
#include "transform/rejection.h"

namespace nasx {

struct SplitLoop {
  std::string loop;
  int64_t factor = 1;
  bool operator==(const SplitLoop&) const = default;
};
struct Reorder {
  std::string outer, inner;
  bool operator==(const Reorder&) const = default;
};
struct FuseLoops {
  std::string outer, inner;
  bool operator==(const FuseLoops&) const = default;
};
struct TileLoops {
  std::string outer, inner;
  int64_t outer_factor = 1, inner_factor = 1;
  bool operator==(const TileLoops&) const = default;
};
struct Unroll {
  std::string loop;
  bool operator==(const Unroll&) const = default;
};
struct Vectorize {
  std::string loop;
  bool operator==(const Vectorize&) const = default;
};
struct Parallelize {
  std::string loop;
  bool operator==(const Parallelize&) const = default;
};

using ScheduleTransform =
    std::variant<SplitLoop, Reorder, FuseLoops, TileLoops, Unroll, Vectorize, Parallelize>;
using Schedule = std::vector<ScheduleTransform>;

std::string to_string(const ScheduleTransform& t);
std::string print_schedule(const Schedule& s);
// "split(x, 4); vectorize(xi); unroll(ky)"; UserError on a malformed text.
Schedule parse_schedule(const std::string& text);

// A statement being scheduled and its loops' handles (address -> loop variable).
struct ScheduleState {
  explicit ScheduleState(ir::Stmt s);  // every loop's handle as loop_addresses(s) gives it
  ir::Stmt stmt;
  std::map<std::string, ir::Expr> loops;
  std::vector<std::string> addresses() const;  // the handles valid now
};

// One step on the state: on success the state holds the result and the handles of the loops the
// step created are returned (in the order of the nest); on a Rejection the state is unchanged.
Expected<std::vector<std::string>> apply_step(const ScheduleTransform& t, ScheduleState& state);

Expected<ir::Stmt> apply_schedule(const ScheduleTransform& t, const ir::Stmt& s);
Expected<ir::Stmt> apply_schedule(const Schedule& schedule, const ir::Stmt& s);

// Every loop of s as a schedule addresses it: its name when no other loop has it, else
// name#k, the k-th loop of that name in program order (statement k's, in a multi-statement
// convolution's nest).
std::vector<std::string> loop_addresses(const ir::Stmt& s);

}  // namespace nasx
