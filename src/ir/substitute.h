// Replaces every use of a variable (by identity) with an expression.
#pragma once

#include <map>

#include "ir/ir.h"

namespace nasx::ir {

using VarMap = std::map<const ExprNode*, Expr>;

Expr substitute(const Expr& e, const VarMap& replacements);
Stmt substitute(const Stmt& s, const VarMap& replacements);
inline Stmt substitute(const Stmt& s, const Expr& var, const Expr& value) {
  return substitute(s, VarMap{{var.get(), value}});
}
inline Expr substitute(const Expr& e, const Expr& var, const Expr& value) {
  return substitute(e, VarMap{{var.get(), value}});
}

// Does e mention the variable?
bool uses_var(const Expr& e, const Expr& var);

}  // namespace nasx::ir
