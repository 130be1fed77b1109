// IRVisitor and IRMutator, generated from the node lists in ir.h. A visitor's default for each
// node visits its children; a mutator's default rebuilds a node only when a child changed, so
// "unchanged?" is a pointer comparison (Expr::same_as).
#pragma once

#include "ir/ir.h"

namespace nasx::ir {

class IRVisitor {
 public:
  virtual ~IRVisitor() = default;
  void visit_expr(const Expr& e);
  void visit_stmt(const Stmt& s);

 protected:
#define NASX_X(name, op) virtual void visit(const name* node);
  NASX_IR_ALL_NODES(NASX_X)
#undef NASX_X
};

class IRMutator {
 public:
  virtual ~IRMutator() = default;
  Expr mutate(const Expr& e);
  Stmt mutate(const Stmt& s);

 protected:
#define NASX_X(name, op) virtual Expr visit(const name* node, const Expr& self);
  NASX_IR_EXPR_NODES(NASX_X)
#undef NASX_X
#define NASX_X(name, op) virtual Stmt visit(const name* node, const Stmt& self);
  NASX_IR_STMT_NODES(NASX_X)
#undef NASX_X
  std::vector<Expr> mutate_all(const std::vector<Expr>& v, bool* changed);
};

}  // namespace nasx::ir
