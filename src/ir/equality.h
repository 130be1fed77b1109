// Structural equality and its hash. Free variables and buffers compare by identity; variables
// bound by For and LetStmt compare up to renaming (two loops over fresh variables with equal bodies
// are equal).
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"

namespace nasx::ir {

bool equal(const Expr& a, const Expr& b);
bool equal(const Stmt& a, const Stmt& b);

// A hash of `body` that two lowerings of the same kernel share: bound variables count by the
// order they are bound (renaming never changes it), the buffers in `args` by their position,
// buffers allocated in the body by the order of their Allocate (with shape, type and layout),
// every other buffer and free variable by its name. equal(a, b) implies the same hash for the
// same args; a different constant, loop kind, extent, type or operation changes it. It is the
// body's part of a kernel's identity (runtime/compiled_op.h, kernel_key), so it is stable across
// processes: 32 hex digits (support/hash.h).
std::string structural_hash(const Stmt& body, const std::vector<Buffer>& args = {});

}  // namespace nasx::ir
