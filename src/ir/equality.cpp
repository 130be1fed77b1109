#include "ir/equality.h"

#include <cstring>
#include <map>

#include "support/hash.h"

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

// Writes a canonical token stream of a statement into a Hasher; see structural_hash.
class StructuralHasher {
 public:
  explicit StructuralHasher(const std::vector<Buffer>& args) {
    for (size_t i = 0; i < args.size(); ++i) buffers_[args[i].get()] = "a" + std::to_string(i);
  }
  std::string hex() const { return h_.hex(); }

  void expr(const Expr& e) {
    if (!e.defined()) return token("_");
    token(node_kind_name(e->kind));
    type(e.type());
    switch (e->kind) {
#define NASX_X(name, op)                         \
  case NodeKind::name: {                         \
    auto* x = static_cast<const name*>(e.get()); \
    expr(x->a);                                  \
    expr(x->b);                                  \
    return;                                      \
  }
      NASX_IR_BINARY_NODES(NASX_X)
#undef NASX_X
      case NodeKind::IntImm:
        return token(std::to_string(e.as<IntImm>()->value));
      case NodeKind::FloatImm: {
        double v = e.as<FloatImm>()->value;
        uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        return token(std::to_string(bits));
      }
      case NodeKind::Var: {
        auto it = bound_.find(e.get());
        return token(it != bound_.end() ? "v" + std::to_string(it->second)
                                        : "free " + e.as<Var>()->name_hint);
      }
      case NodeKind::Not:
        return expr(e.as<Not>()->a);
      case NodeKind::Select: {
        auto* x = e.as<Select>();
        expr(x->condition);
        expr(x->true_value);
        return expr(x->false_value);
      }
      case NodeKind::Load: {
        auto* x = e.as<Load>();
        buffer(x->buffer);
        return exprs(x->indices);
      }
      case NodeKind::Call: {
        auto* x = e.as<Call>();
        token(x->name);
        return exprs(x->args);
      }
      case NodeKind::Broadcast:
        return expr(e.as<Broadcast>()->value);
      default:
        return token("?");
    }
  }

  void stmt(const Stmt& s) {
    if (!s.defined()) return token("_");
    token(node_kind_name(s->kind));
    switch (s->kind) {
      case NodeKind::LetStmt: {
        auto* x = s.as<LetStmt>();
        expr(x->value);
        bind(x->var);
        return stmt(x->body);
      }
      case NodeKind::For: {
        auto* x = s.as<For>();
        token(for_kind_name(x->for_kind));
        expr(x->min);
        expr(x->extent);
        bind(x->var);
        return stmt(x->body);
      }
      case NodeKind::Store: {
        auto* x = s.as<Store>();
        buffer(x->buffer);
        exprs(x->indices);
        return expr(x->value);
      }
      case NodeKind::IfThenElse: {
        auto* x = s.as<IfThenElse>();
        expr(x->condition);
        stmt(x->then_case);
        return stmt(x->else_case);
      }
      case NodeKind::Allocate: {
        auto* x = s.as<Allocate>();
        std::string name = "b" + std::to_string(allocated_++);
        buffers_[x->buffer.get()] = name;
        token(name);
        shape(x->buffer);
        return stmt(x->body);
      }
      case NodeKind::Block: {
        auto* x = s.as<Block>();
        token(std::to_string(x->stmts.size()));
        for (const Stmt& c : x->stmts) stmt(c);
        return;
      }
      default:
        return token("?");
    }
  }

 private:
  void token(const std::string& t) {
    h_.add(t);
  }
  void type(const Type& t) {
    token(std::to_string(static_cast<int>(t.kind)) + "x" + std::to_string(t.lanes));
  }
  void exprs(const std::vector<Expr>& es) {
    token(std::to_string(es.size()));
    for (const Expr& e : es) expr(e);
  }
  void bind(const Expr& var) {
    bound_[var.get()] = bound_count_++;
    type(var.type());
  }
  void shape(const Buffer& b) {
    std::string s;
    for (int64_t d : b->shape) s += std::to_string(d) + ",";
    token(s + " " + b->layout.to_string());
    type(b->elem);
  }
  void buffer(const Buffer& b) {
    auto it = buffers_.find(b.get());
    if (it != buffers_.end()) return token(it->second);
    token("buffer " + b->name);
    shape(b);
  }

  Hasher h_;
  std::map<const ExprNode*, size_t> bound_;
  std::map<const BufferNode*, std::string> buffers_;
  size_t bound_count_ = 0, allocated_ = 0;
};

}  // namespace

bool equal(const Expr& a, const Expr& b) {
  return Comparer().expr(a, b);
}
bool equal(const Stmt& a, const Stmt& b) {
  return Comparer().stmt(a, b);
}

std::string structural_hash(const Stmt& body, const std::vector<Buffer>& args) {
  StructuralHasher h(args);
  h.stmt(body);
  return h.hex();
}

}  // namespace nasx::ir
