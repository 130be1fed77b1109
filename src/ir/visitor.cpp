#include "ir/visitor.h"

#include "support/error.h"

namespace nasx::ir {

// ---- visitor ----

void IRVisitor::visit_expr(const Expr& e) {
  if (!e.defined()) return;
  switch (e->kind) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return visit(static_cast<const name*>(e.get()));
    NASX_IR_EXPR_NODES(NASX_X)
#undef NASX_X
    default:
      internal_error("statement kind in an expression position");
  }
}

void IRVisitor::visit_stmt(const Stmt& s) {
  if (!s.defined()) return;
  switch (s->kind) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return visit(static_cast<const name*>(s.get()));
    NASX_IR_STMT_NODES(NASX_X)
#undef NASX_X
    default:
      internal_error("expression kind in a statement position");
  }
}

#define NASX_X(name, op)                    \
  void IRVisitor::visit(const name* node) { \
    visit_expr(node->a);                    \
    visit_expr(node->b);                    \
  }
NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X

void IRVisitor::visit(const IntImm*) {}
void IRVisitor::visit(const FloatImm*) {}
void IRVisitor::visit(const Var*) {}
void IRVisitor::visit(const Not* n) {
  visit_expr(n->a);
}
void IRVisitor::visit(const Select* n) {
  visit_expr(n->condition);
  visit_expr(n->true_value);
  visit_expr(n->false_value);
}
void IRVisitor::visit(const Load* n) {
  for (const Expr& i : n->indices) visit_expr(i);
}
void IRVisitor::visit(const Call* n) {
  for (const Expr& a : n->args) visit_expr(a);
}
void IRVisitor::visit(const Broadcast* n) {
  visit_expr(n->value);
}
void IRVisitor::visit(const LetStmt* n) {
  visit_expr(n->value);
  visit_stmt(n->body);
}
void IRVisitor::visit(const For* n) {
  visit_expr(n->min);
  visit_expr(n->extent);
  visit_stmt(n->body);
}
void IRVisitor::visit(const Store* n) {
  for (const Expr& i : n->indices) visit_expr(i);
  visit_expr(n->value);
}
void IRVisitor::visit(const IfThenElse* n) {
  visit_expr(n->condition);
  visit_stmt(n->then_case);
  visit_stmt(n->else_case);
}
void IRVisitor::visit(const Block* n) {
  for (const Stmt& s : n->stmts) visit_stmt(s);
}

void IRVisitor::visit(const Allocate* n) {
  visit_stmt(n->body);
}

// ---- mutator ----

Expr IRMutator::mutate(const Expr& e) {
  if (!e.defined()) return e;
  switch (e->kind) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return visit(static_cast<const name*>(e.get()), e);
    NASX_IR_EXPR_NODES(NASX_X)
#undef NASX_X
    default:
      internal_error("statement kind in an expression position");
  }
}

Stmt IRMutator::mutate(const Stmt& s) {
  if (!s.defined()) return s;
  switch (s->kind) {
#define NASX_X(name, op) \
  case NodeKind::name:   \
    return visit(static_cast<const name*>(s.get()), s);
    NASX_IR_STMT_NODES(NASX_X)
#undef NASX_X
    default:
      internal_error("expression kind in a statement position");
  }
}

std::vector<Expr> IRMutator::mutate_all(const std::vector<Expr>& v, bool* changed) {
  std::vector<Expr> out;
  out.reserve(v.size());
  for (const Expr& e : v) {
    out.push_back(mutate(e));
    if (!out.back().same_as(e)) *changed = true;
  }
  return out;
}

#define NASX_X(name, op)                                       \
  Expr IRMutator::visit(const name* node, const Expr& self) {  \
    Expr a = mutate(node->a), b = mutate(node->b);             \
    if (a.same_as(node->a) && b.same_as(node->b)) return self; \
    return name::make(a, b);                                   \
  }
NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X

Expr IRMutator::visit(const IntImm*, const Expr& self) {
  return self;
}
Expr IRMutator::visit(const FloatImm*, const Expr& self) {
  return self;
}
Expr IRMutator::visit(const Var*, const Expr& self) {
  return self;
}
Expr IRMutator::visit(const Not* n, const Expr& self) {
  Expr a = mutate(n->a);
  return a.same_as(n->a) ? self : Not::make(a);
}
Expr IRMutator::visit(const Select* n, const Expr& self) {
  Expr c = mutate(n->condition), t = mutate(n->true_value), f = mutate(n->false_value);
  if (c.same_as(n->condition) && t.same_as(n->true_value) && f.same_as(n->false_value)) return self;
  return Select::make(c, t, f);
}
Expr IRMutator::visit(const Load* n, const Expr& self) {
  bool changed = false;
  auto idx = mutate_all(n->indices, &changed);
  return changed ? Load::make(n->buffer, std::move(idx), n->lanes) : self;
}
Expr IRMutator::visit(const Broadcast* n, const Expr& self) {
  Expr v = mutate(n->value);
  return v.same_as(n->value) ? self : Broadcast::make(v, n->lanes);
}
Expr IRMutator::visit(const Call* n, const Expr& self) {
  bool changed = false;
  auto args = mutate_all(n->args, &changed);
  return changed ? Call::make(n->type, n->name, std::move(args)) : self;
}

Stmt IRMutator::visit(const LetStmt* n, const Stmt& self) {
  Expr v = mutate(n->value);
  Stmt b = mutate(n->body);
  if (v.same_as(n->value) && b.same_as(n->body)) return self;
  return LetStmt::make(n->var, v, b);
}
Stmt IRMutator::visit(const For* n, const Stmt& self) {
  Expr m = mutate(n->min), e = mutate(n->extent);
  Stmt b = mutate(n->body);
  if (m.same_as(n->min) && e.same_as(n->extent) && b.same_as(n->body)) return self;
  return For::make(n->var, m, e, n->for_kind, b);
}
Stmt IRMutator::visit(const Store* n, const Stmt& self) {
  bool changed = false;
  auto idx = mutate_all(n->indices, &changed);
  Expr v = mutate(n->value);
  if (!changed && v.same_as(n->value)) return self;
  return Store::make(n->buffer, std::move(idx), v);
}
Stmt IRMutator::visit(const IfThenElse* n, const Stmt& self) {
  Expr c = mutate(n->condition);
  Stmt t = mutate(n->then_case), e = mutate(n->else_case);
  if (c.same_as(n->condition) && t.same_as(n->then_case) && e.same_as(n->else_case)) return self;
  return IfThenElse::make(c, t, e);
}
Stmt IRMutator::visit(const Block* n, const Stmt& self) {
  bool changed = false;
  std::vector<Stmt> out;
  for (const Stmt& s : n->stmts) {
    out.push_back(mutate(s));
    if (!out.back().same_as(s)) changed = true;
  }
  return changed ? Block::make(std::move(out)) : self;
}

}  // namespace nasx::ir

namespace nasx::ir {
Stmt IRMutator::visit(const Allocate* n, const Stmt& self) {
  Stmt b = mutate(n->body);
  return b.same_as(n->body) ? self : Allocate::make(n->buffer, b);
}
}  // namespace nasx::ir
