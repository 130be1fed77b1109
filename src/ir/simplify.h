// The simplifier for the index arithmetic lowering produces. Integer expressions built from +, -
// and multiplication by constants are put in a canonical linear form (terms in order of first
// appearance, constant last), which folds constants, cancels terms and exposes constant
// differences to min/max/comparisons. Floor division and modulus by a constant are reduced when
// every coefficient allows it. Statements: lets of constants or variables are inlined, loops of
// extent 0 vanish, loops of extent 1 become their body, constant conditions pick their branch.
#pragma once

#include "ir/ir.h"

namespace nasx::ir {

Expr simplify(const Expr& e);
Stmt simplify(const Stmt& s);

}  // namespace nasx::ir
