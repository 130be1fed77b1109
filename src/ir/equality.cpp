#include "ir/equality.h"

#include <map>

namespace nasx::ir {
namespace {

class Comparer {
 public:
  bool expr(const Expr& a, const Expr& b) {
    if (a.same_as(b)) return true;
    if (!a.defined() || !b.defined()) return false;
    if (a->kind != b->kind || !(a.type() == b.type())) return false;
    switch (a->kind) {
#define NASX_X(name, op)                         \
  case NodeKind::name: {                         \
    auto* x = static_cast<const name*>(a.get()); \
    auto* y = static_cast<const name*>(b.get()); \
    return expr(x->a, y->a) && expr(x->b, y->b); \
  }
      NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X
      case NodeKind::IntImm:
        return a.as<IntImm>()->value == b.as<IntImm>()->value;
      case NodeKind::FloatImm:
        return a.as<FloatImm>()->value == b.as<FloatImm>()->value;
      case NodeKind::Var: {
        auto it = bound_.find(a.get());
        return it != bound_.end() ? it->second == b.get() : false;
      }
      case NodeKind::Not:
        return expr(a.as<Not>()->a, b.as<Not>()->a);
      case NodeKind::Select: {
        auto *x = a.as<Select>(), *y = b.as<Select>();
        return expr(x->condition, y->condition) && expr(x->true_value, y->true_value) &&
               expr(x->false_value, y->false_value);
      }
      case NodeKind::Load: {
        auto *x = a.as<Load>(), *y = b.as<Load>();
        return x->buffer == y->buffer && exprs(x->indices, y->indices);
      }
      case NodeKind::Call: {
        auto *x = a.as<Call>(), *y = b.as<Call>();
        return x->name == y->name && exprs(x->args, y->args);
      }
      case NodeKind::Broadcast:
        return expr(a.as<Broadcast>()->value, b.as<Broadcast>()->value);
      default:
        return false;
    }
  }

  bool stmt(const Stmt& a, const Stmt& b) {
    if (a.same_as(b)) return true;
    if (!a.defined() || !b.defined()) return false;
    if (a->kind != b->kind) return false;
    switch (a->kind) {
      case NodeKind::LetStmt: {
        auto *x = a.as<LetStmt>(), *y = b.as<LetStmt>();
        if (!expr(x->value, y->value)) return false;
        return with_binding(x->var, y->var, [&] { return stmt(x->body, y->body); });
      }
      case NodeKind::For: {
        auto *x = a.as<For>(), *y = b.as<For>();
        if (x->for_kind != y->for_kind || !expr(x->min, y->min) || !expr(x->extent, y->extent))
          return false;
        return with_binding(x->var, y->var, [&] { return stmt(x->body, y->body); });
      }
      case NodeKind::Store: {
        auto *x = a.as<Store>(), *y = b.as<Store>();
        return x->buffer == y->buffer && exprs(x->indices, y->indices) && expr(x->value, y->value);
      }
      case NodeKind::IfThenElse: {
        auto *x = a.as<IfThenElse>(), *y = b.as<IfThenElse>();
        return expr(x->condition, y->condition) && stmt(x->then_case, y->then_case) &&
               (x->else_case.defined() == y->else_case.defined()) &&
               (!x->else_case.defined() || stmt(x->else_case, y->else_case));
      }
      case NodeKind::Allocate: {
        auto *x = a.as<Allocate>(), *y = b.as<Allocate>();
        return x->buffer == y->buffer && stmt(x->body, y->body);
      }
      case NodeKind::Block: {
        auto *x = a.as<Block>(), *y = b.as<Block>();
        if (x->stmts.size() != y->stmts.size()) return false;
        for (size_t i = 0; i < x->stmts.size(); ++i)
          if (!stmt(x->stmts[i], y->stmts[i])) return false;
        return true;
      }
      default:
        return false;
    }
  }

 private:
  bool exprs(const std::vector<Expr>& a, const std::vector<Expr>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!expr(a[i], b[i])) return false;
    return true;
  }

  template <typename F>
  bool with_binding(const Expr& va, const Expr& vb, F&& body) {
    auto saved = bound_.find(va.get()) != bound_.end() ? bound_[va.get()] : nullptr;
    bound_[va.get()] = vb.get();
    bool r = body();
    if (saved)
      bound_[va.get()] = saved;
    else
      bound_.erase(va.get());
    return r;
  }

  // Maps a bound variable of the left side to its counterpart on the right. A free variable
  // (absent here) is equal only to itself, which same_as already checked.
  std::map<const ExprNode*, const ExprNode*> bound_;
};

}  // namespace

bool equal(const Expr& a, const Expr& b) {
  return Comparer().expr(a, b);
}
bool equal(const Stmt& a, const Stmt& b) {
  return Comparer().stmt(a, b);
}

}  // namespace nasx::ir
