#include "ir/substitute.h"

#include "ir/visitor.h"

namespace nasx::ir {
namespace {

class Substituter : public IRMutator {
 public:
  explicit Substituter(const VarMap& m) : map_(m) {}

 protected:
  using IRMutator::visit;
  Expr visit(const Var* v, const Expr& self) override {
    auto it = map_.find(v);
    return it == map_.end() ? self : it->second;
  }

 private:
  const VarMap& map_;
};

class VarFinder : public IRVisitor {
 public:
  explicit VarFinder(const ExprNode* v) : target_(v) {}
  bool found = false;

 protected:
  using IRVisitor::visit;
  void visit(const Var* v) override { found = found || v == target_; }

 private:
  const ExprNode* target_;
};

}  // namespace

Expr substitute(const Expr& e, const VarMap& m) {
  return Substituter(m).mutate(e);
}
Stmt substitute(const Stmt& s, const VarMap& m) {
  return Substituter(m).mutate(s);
}

bool uses_var(const Expr& e, const Expr& var) {
  VarFinder f(var.get());
  f.visit_expr(e);
  return f.found;
}

}  // namespace nasx::ir
