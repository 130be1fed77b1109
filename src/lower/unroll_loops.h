// Unrolling: a loop marked ForKind::Unrolled with a constant extent becomes a sequence of copies
// of its body, each with the loop variable replaced by its value. Run before simplify, so that
// bounds and indices depending on the unrolled variable fold to constants in each copy (this is
// what removes the per-kx bound computation in convolutions). A marked loop with a non-constant
// extent is an internal error: the schedule promised a constant.
#pragma once

#include "ir/ir.h"

namespace nasx {

ir::Stmt unroll_loops(const ir::Stmt& s);

}  // namespace nasx
