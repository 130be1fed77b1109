// Structural equality. Free variables and buffers compare by identity; variables bound by For and
// LetStmt compare up to renaming (two loops over fresh variables with equal bodies are equal).
#pragma once

#include "ir/ir.h"

namespace nasx::ir {

bool equal(const Expr& a, const Expr& b);
bool equal(const Stmt& a, const Stmt& b);

}  // namespace nasx::ir
