#include "ir/simplify.h"

#include <algorithm>
#include <map>
#include <optional>

#include "ir/equality.h"
#include "ir/substitute.h"
#include "ir/visitor.h"

namespace nasx::ir {
namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
int64_t floor_mod(int64_t a, int64_t b) {
  return a - floor_div(a, b) * b;
}

// sum(coefficient * atom) + constant, over integer expressions.
struct LinearForm {
  std::vector<std::pair<Expr, int64_t>> terms;
  int64_t constant = 0;

  void add_term(const Expr& atom, int64_t coef) {
    for (auto& [e, c] : terms) {
      if (equal(e, atom)) {
        c += coef;
        return;
      }
    }
    terms.emplace_back(atom, coef);
  }

  void add(const Expr& e, int64_t scale) {
    if (const int64_t* v = as_const_int(e)) {
      constant += scale * *v;
    } else if (const Add* n = e.as<Add>()) {
      add(n->a, scale);
      add(n->b, scale);
    } else if (const Sub* n = e.as<Sub>()) {
      add(n->a, scale);
      add(n->b, -scale);
    } else if (const Mul* n = e.as<Mul>(); n && as_const_int(n->b)) {
      add(n->a, scale * *as_const_int(n->b));
    } else if (const Mul* n = e.as<Mul>(); n && as_const_int(n->a)) {
      add(n->b, scale * *as_const_int(n->a));
    } else {
      add_term(e, scale);
    }
  }

  // (e / c) * c * k + (e % c) * k == e * k for floor division by a positive constant c.
  void recombine_div_mod() {
    for (auto& [mod_atom, mod_coef] : terms) {
      const Mod* m = mod_atom.as<Mod>();
      const int64_t* c = m ? as_const_int(m->b) : nullptr;
      if (!c || *c <= 0 || mod_coef == 0) continue;
      for (auto& [div_atom, div_coef] : terms) {
        const Div* d = div_atom.as<Div>();
        if (!d || div_coef != mod_coef * *c || !equal(d->a, m->a) || !equal(d->b, m->b)) continue;
        div_coef = 0;
        int64_t k = mod_coef;
        mod_coef = 0;
        add(m->a, k);
        return recombine_div_mod();  // terms changed: start again
      }
    }
  }

  bool is_constant() const {
    return std::all_of(terms.begin(), terms.end(), [](auto& t) { return t.second == 0; });
  }
  bool divisible_by(int64_t d) const {
    return std::all_of(terms.begin(), terms.end(), [&](auto& t) { return t.second % d == 0; });
  }

  Expr rebuild() const {
    Expr out;
    for (const auto& [atom, coef] : terms) {
      if (coef == 0) continue;
      int64_t mag = coef < 0 ? -coef : coef;
      Expr t = mag == 1 ? atom : Mul::make(atom, IntImm::make(mag));
      if (!out.defined()) {
        out = coef < 0 ? Mul::make(atom, IntImm::make(coef)) : t;
      } else {
        out = coef < 0 ? Sub::make(out, t) : Add::make(out, t);
      }
    }
    if (!out.defined()) return IntImm::make(constant);
    if (constant > 0) return Add::make(out, IntImm::make(constant));
    if (constant < 0) return Sub::make(out, IntImm::make(-constant));
    return out;
  }
};

LinearForm linear(const Expr& e) {
  LinearForm f;
  f.add(e, 1);
  return f;
}

// The constant value of a - b, if the difference of the two linear forms is constant.
std::optional<int64_t> constant_difference(const Expr& a, const Expr& b) {
  if (!a.type().is_int()) return std::nullopt;
  LinearForm f;
  f.add(a, 1);
  f.add(b, -1);
  if (!f.is_constant()) return std::nullopt;
  return f.constant;
}

class Simplifier : public IRMutator {
 protected:
  using IRMutator::visit;

  // Ranges [lo, hi] of the variables of enclosing loops with constant bounds.
  std::map<const ExprNode*, std::pair<int64_t, int64_t>> ranges_;

  // Bounds of the terms of `f` not divisible by d, plus its constant; nullopt when an atom's range
  // is unknown.
  std::optional<std::pair<int64_t, int64_t>> remainder_bounds(const LinearForm& f, int64_t d) {
    int64_t lo = f.constant, hi = f.constant;
    for (const auto& [atom, coef] : f.terms) {
      if (coef % d == 0) continue;
      auto r = ranges_.find(atom.get());
      if (r == ranges_.end()) return std::nullopt;
      int64_t a = coef * r->second.first, b = coef * r->second.second;
      lo += std::min(a, b);
      hi += std::max(a, b);
    }
    return std::make_pair(lo, hi);
  }
  // f = d*q + r with r's range inside one multiple of d: returns (f - r)/d + floor(r/d) and
  // r - d*floor(r/d), or nullopt.
  std::optional<std::pair<Expr, Expr>> split_div_mod(const LinearForm& f, int64_t d) {
    auto b = remainder_bounds(f, d);
    if (!b || floor_div(b->first, d) != floor_div(b->second, d)) return std::nullopt;
    int64_t q = floor_div(b->first, d);
    LinearForm quotient, remainder;
    for (const auto& [atom, coef] : f.terms)
      (coef % d == 0 ? quotient : remainder).add_term(atom, coef % d == 0 ? coef / d : coef);
    quotient.constant = q;
    remainder.constant = f.constant - q * d;
    return std::make_pair(quotient.rebuild(), remainder.rebuild());
  }

  Expr visit(const Add* n, const Expr& self) override { return arith(n, self); }
  Expr visit(const Sub* n, const Expr& self) override { return arith(n, self); }
  Expr visit(const Mul* n, const Expr& self) override { return arith(n, self); }

  template <typename T>
  Expr arith(const T* n, const Expr& self) {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (a.type().is_float()) {
      const double *x = as_const_float(a), *y = as_const_float(b);
      if (x && y) {
        if constexpr (T::kNodeKind == NodeKind::Add) return FloatImm::make(float(*x + *y));
        if constexpr (T::kNodeKind == NodeKind::Sub) return FloatImm::make(float(*x - *y));
        if constexpr (T::kNodeKind == NodeKind::Mul) return FloatImm::make(float(*x * *y));
      }
      return a.same_as(n->a) && b.same_as(n->b) ? self : T::make(a, b);
    }
    LinearForm f = linear(T::make(a, b));
    f.recombine_div_mod();
    return f.rebuild();
  }

  Expr visit(const Div* n, const Expr& self) override {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (a.type().is_int()) {
      const int64_t* d = as_const_int(b);
      if (d && *d == 1) return a;
      if (d && *d > 0) {
        LinearForm f = linear(a);
        if (f.is_constant()) return IntImm::make(floor_div(f.constant, *d));
        if (f.divisible_by(*d)) {
          // (d*t + c) / d == t + floor(c / d) for floor division.
          for (auto& t : f.terms) t.second /= *d;
          f.constant = floor_div(f.constant, *d);
          return f.rebuild();
        }
        if (auto qr = split_div_mod(f, *d)) return qr->first;
      }
    } else if (as_const_float(a) && as_const_float(b)) {
      return FloatImm::make(float(*as_const_float(a) / *as_const_float(b)));
    }
    return a.same_as(n->a) && b.same_as(n->b) ? self : Div::make(a, b);
  }

  Expr visit(const Mod* n, const Expr& self) override {
    Expr a = mutate(n->a), b = mutate(n->b);
    const int64_t* d = as_const_int(b);
    if (d && *d == 1) return IntImm::make(0);
    if (d && *d > 0) {
      LinearForm f = linear(a);
      if (f.divisible_by(*d)) return IntImm::make(floor_mod(f.constant, *d));
      if (auto qr = split_div_mod(f, *d)) return qr->second;
    }
    return a.same_as(n->a) && b.same_as(n->b) ? self : Mod::make(a, b);
  }

  Expr visit(const Min* n, const Expr& self) override { return minmax(n, self, true); }
  Expr visit(const Max* n, const Expr& self) override { return minmax(n, self, false); }

  template <typename T>
  Expr minmax(const T* n, const Expr& self, bool is_min) {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (auto diff = constant_difference(a, b)) return (*diff <= 0) == is_min ? a : b;
    const double *x = as_const_float(a), *y = as_const_float(b);
    if (x && y) return (*x <= *y) == is_min ? a : b;
    if (equal(a, b)) return a;
    return a.same_as(n->a) && b.same_as(n->b) ? self : T::make(a, b);
  }

  Expr visit(const EQ* n, const Expr& self) override { return compare(n, self); }
  Expr visit(const NE* n, const Expr& self) override { return compare(n, self); }
  Expr visit(const LT* n, const Expr& self) override { return compare(n, self); }
  Expr visit(const LE* n, const Expr& self) override { return compare(n, self); }

  template <typename T>
  Expr compare(const T* n, const Expr& self) {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (auto d = constant_difference(a, b)) {
      switch (T::kNodeKind) {
        case NodeKind::EQ:
          return IntImm::make_bool(*d == 0);
        case NodeKind::NE:
          return IntImm::make_bool(*d != 0);
        case NodeKind::LT:
          return IntImm::make_bool(*d < 0);
        default:
          return IntImm::make_bool(*d <= 0);
      }
    }
    return a.same_as(n->a) && b.same_as(n->b) ? self : T::make(a, b);
  }

  Expr visit(const And* n, const Expr& self) override {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (const int64_t* x = as_const_bool(a)) return *x ? b : a;
    if (const int64_t* y = as_const_bool(b)) return *y ? a : b;
    return a.same_as(n->a) && b.same_as(n->b) ? self : And::make(a, b);
  }
  Expr visit(const Or* n, const Expr& self) override {
    Expr a = mutate(n->a), b = mutate(n->b);
    if (const int64_t* x = as_const_bool(a)) return *x ? a : b;
    if (const int64_t* y = as_const_bool(b)) return *y ? b : a;
    return a.same_as(n->a) && b.same_as(n->b) ? self : Or::make(a, b);
  }
  Expr visit(const Not* n, const Expr& self) override {
    Expr a = mutate(n->a);
    if (const int64_t* x = as_const_bool(a)) return IntImm::make_bool(!*x);
    return a.same_as(n->a) ? self : Not::make(a);
  }
  Expr visit(const Select* n, const Expr& self) override {
    Expr c = mutate(n->condition);
    if (const int64_t* x = as_const_bool(c)) return mutate(*x ? n->true_value : n->false_value);
    Expr t = mutate(n->true_value), f = mutate(n->false_value);
    if (equal(t, f)) return t;
    if (c.same_as(n->condition) && t.same_as(n->true_value) && f.same_as(n->false_value))
      return self;
    return Select::make(c, t, f);
  }

  Stmt visit(const LetStmt* n, const Stmt& self) override {
    Expr v = mutate(n->value);
    if (v.as<IntImm>() || v.as<FloatImm>() || v.as<Var>())
      return mutate(substitute(n->body, n->var, v));
    // x % c with a positive constant c lies in [0, c).
    if (const Mod* m = v.as<Mod>(); m && as_const_int(m->b) && *as_const_int(m->b) > 0)
      ranges_[n->var.get()] = {0, *as_const_int(m->b) - 1};
    Stmt b = mutate(n->body);
    ranges_.erase(n->var.get());
    if (is_no_op(b)) return b;
    return v.same_as(n->value) && b.same_as(n->body) ? self : LetStmt::make(n->var, v, b);
  }

  Stmt visit(const For* n, const Stmt& self) override {
    Expr m = mutate(n->min), e = mutate(n->extent);
    const int64_t* extent = as_const_int(e);
    if (extent && *extent <= 0) return Block::make({});
    if (extent && *extent == 1) return mutate(substitute(n->body, n->var, m));
    const int64_t* lo = as_const_int(m);
    if (lo && extent) ranges_[n->var.get()] = {*lo, *lo + *extent - 1};
    Stmt b = mutate(n->body);
    ranges_.erase(n->var.get());
    if (is_no_op(b)) return b;
    if (m.same_as(n->min) && e.same_as(n->extent) && b.same_as(n->body)) return self;
    return For::make(n->var, m, e, n->for_kind, b);
  }

  Stmt visit(const IfThenElse* n, const Stmt& self) override {
    Expr c = mutate(n->condition);
    if (const int64_t* x = as_const_bool(c)) {
      if (*x) return mutate(n->then_case);
      return n->else_case.defined() ? mutate(n->else_case) : Block::make({});
    }
    Stmt t = mutate(n->then_case), e = mutate(n->else_case);
    if (e.defined() && is_no_op(e)) e = Stmt();
    if (c.same_as(n->condition) && t.same_as(n->then_case) && e.same_as(n->else_case)) return self;
    return IfThenElse::make(c, t, e);
  }

  static bool is_no_op(const Stmt& s) {
    const Block* b = s.as<Block>();
    return b && b->stmts.empty();
  }
};

}  // namespace

Expr simplify(const Expr& e) {
  return Simplifier().mutate(e);
}
Stmt simplify(const Stmt& s) {
  return Simplifier().mutate(s);
}

}  // namespace nasx::ir
