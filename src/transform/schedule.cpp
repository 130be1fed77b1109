#include "transform/schedule.h"

#include <cctype>
#include <map>
#include <sstream>

#include "ir/equality.h"
#include "ir/printer.h"
#include "ir/simplify.h"
#include "ir/substitute.h"
#include "ir/visitor.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

using namespace ir;

class LoopFinder : public IRVisitor {
 public:
  std::map<std::string, std::vector<const For*>> loops;
  std::vector<const For*> parallel;

 protected:
  using IRVisitor::visit;
  void visit(const For* n) override {
    loops[n->var.as<Var>()->name_hint].push_back(n);
    if (n->for_kind == ForKind::Parallel) parallel.push_back(n);
    IRVisitor::visit(n);
  }
};

// Replaces one For node (by identity) with a new statement.
class ReplaceLoop : public IRMutator {
 public:
  ReplaceLoop(const For* target, Stmt replacement)
      : target_(target), with_(std::move(replacement)) {}

 protected:
  using IRMutator::visit;
  Stmt visit(const For* n, const Stmt& self) override {
    return n == target_ ? with_ : IRMutator::visit(n, self);
  }

 private:
  const For* target_;
  Stmt with_;
};

struct StoreAccess {
  Buffer buffer;
  Expr index;
};

// Stores and loads of a statement, after storage flattening's view: all indices, in order.
class AccessCollector : public IRVisitor {
 public:
  std::vector<StoreAccess> stores, loads;

 protected:
  using IRVisitor::visit;
  void visit(const Store* n) override {
    stores.push_back({n->buffer, flat(n->buffer, n->indices)});
    IRVisitor::visit(n);
  }
  void visit(const Load* n) override {
    loads.push_back({n->buffer, flat(n->buffer, n->indices)});
    IRVisitor::visit(n);
  }

 private:
  static Expr flat(const Buffer& b, const std::vector<Expr>& idx) {
    Expr f = idx[0];
    for (size_t d = 1; d < idx.size(); ++d) f = f * b->shape[d] + idx[d];
    return simplify(f);
  }
};

Rejection reject(RejectKind k, const ScheduleTransform& t, const std::string& message) {
  return Rejection{k, to_string(t), message};
}

// "y" or "y#2": a loop's name and, when several loops share it (one nest per statement of a
// split, peeled or row-tiled program), its position among them in program order.
std::pair<std::string, int64_t> parse_address(const std::string& address) {
  size_t hash = address.find('#');
  if (hash == std::string::npos) return {address, -1};
  try {
    size_t used = 0;
    int64_t k = std::stoll(address.substr(hash + 1), &used);
    if (used == address.size() - hash - 1 && k >= 0) return {address.substr(0, hash), k};
  } catch (const std::exception&) {
  }
  return {address, -2};
}

Expected<const For*> find_loop(const Stmt& s, const std::string& address,
                               const ScheduleTransform& t) {
  auto [name, k] = parse_address(address);
  if (k == -2)
    return reject(RejectKind::NoSuchLoop, t,
                  "'" + address + "' is not a loop address (name or name#k)");
  LoopFinder f;
  f.visit_stmt(s);
  auto it = f.loops.find(name);
  if (it == f.loops.end()) return reject(RejectKind::NoSuchLoop, t, "no loop named '" + name + "'");
  int64_t n = static_cast<int64_t>(it->second.size());
  if (k >= n)
    return reject(RejectKind::NoSuchLoop, t,
                  "no loop " + address + ": " + std::to_string(n) + " loop" +
                      (n == 1 ? " is" : "s are") + " named '" + name + "'");
  if (k < 0 && n > 1)
    return reject(RejectKind::NoSuchLoop, t,
                  std::to_string(n) + " loops are named '" + name + "': address one as " + name +
                      "#0 .. " + name + "#" + std::to_string(n - 1));
  return it->second[k < 0 ? 0 : k];
}

// The name new loops derive from: the address without its position.
std::string base_name(const std::string& address) {
  return address.substr(0, address.find('#'));
}

// Every stored buffer is read back only at the stored index; with `moves`, each store's index
// also changes by a non-zero constant when the loop variable advances.
std::optional<std::string> dependence(const For* loop, bool moves) {
  AccessCollector a;
  a.visit_stmt(loop->body);
  for (const StoreAccess& st : a.stores) {
    if (moves) {
      Expr step = simplify(substitute(st.index, loop->var, loop->var + 1) - st.index);
      const int64_t* c = as_const_int(step);
      if (!c || *c == 0)
        return "the store to " + st.buffer->name + "[" + to_string(st.index) +
               "] does not move with " + to_string(loop->var) + " by a constant stride";
    }
    for (const StoreAccess& ld : a.loads)
      if (ld.buffer == st.buffer && !equal(ld.index, st.index))
        return st.buffer->name + " is stored at [" + to_string(st.index) + "] and read at [" +
               to_string(ld.index) + "]";
  }
  return std::nullopt;
}

bool contains_parallel(const Stmt& s) {
  LoopFinder f;
  f.visit_stmt(s);
  return !f.parallel.empty();
}

Expected<Stmt> with_kind(const Stmt& s, const std::string& name, ForKind kind,
                         const ScheduleTransform& t) {
  auto loop = find_loop(s, name, t);
  if (!loop.ok()) return loop.rejection();
  const For* f = loop.value();
  if (kind == ForKind::Unrolled) {
    const int64_t* e = as_const_int(simplify(f->extent));
    if (!e)
      return reject(RejectKind::NotConstant, t,
                    "the extent " + to_string(f->extent) + " is not a constant");
    if (*e > 64)
      return reject(RejectKind::OutOfRange, t,
                    "unrolling would make " + std::to_string(*e) + " copies (at most 64)");
  } else {
    if (auto why = dependence(f, true)) return reject(RejectKind::Dependence, t, *why);
    if (contains_parallel(f->body))
      return reject(RejectKind::Unsupported, t, "a parallel loop is nested inside");
    if (kind == ForKind::Parallel) {
      LoopFinder all;
      all.visit_stmt(s);
      for (const For* p : all.parallel)
        if (p != f) {
          // A parallel loop anywhere around this one would nest parallel regions.
          LoopFinder inner;
          inner.visit_stmt(p->body);
          for (const auto& [n, list] : inner.loops)
            for (const For* q : list)
              if (q == f)
                return reject(RejectKind::Unsupported, t,
                              "it is nested in parallel loop " + to_string(p->var));
        }
    }
  }
  return Stmt(ReplaceLoop(f, For::make(f->var, f->min, f->extent, kind, f->body)).mutate(s));
}

// The loop directly inside `outer`, when the nesting is perfect up to lets: outer's body is a
// chain of LetStmts (which, not seeing the inner variable, can move inside it) around the loop.
struct Nesting {
  const For* inner = nullptr;
  std::vector<const LetStmt*> lets;  // outermost first
  // Rebuilds the lets around `body` (they move inside the swapped or fused loop).
  Stmt wrap(Stmt body) const {
    for (auto it = lets.rbegin(); it != lets.rend(); ++it)
      body = LetStmt::make((*it)->var, (*it)->value, body);
    return body;
  }
};

Expected<Nesting> perfectly_inner(const Stmt& root, const For* outer, const std::string& inner,
                                  const ScheduleTransform& t) {
  auto named = find_loop(root, inner, t);
  if (!named.ok()) return named.rejection();
  Nesting n;
  Stmt s = outer->body;
  while (const LetStmt* l = s.as<LetStmt>()) {
    n.lets.push_back(l);
    s = l->body;
  }
  n.inner = s.as<For>();
  if (!n.inner || n.inner != named.value())
    return reject(RejectKind::NotPerfectlyNested, t,
                  "the body of loop " + to_string(outer->var) + " is not exactly loop " + inner);
  std::vector<Expr> bound{outer->var};
  for (const LetStmt* l : n.lets) bound.push_back(l->var);
  for (const Expr& v : bound)
    if (uses_var(n.inner->min, v) || uses_var(n.inner->extent, v))
      return reject(RejectKind::NotPerfectlyNested, t,
                    "the bounds of " + inner + " depend on " + to_string(v));
  return n;
}

Expected<Stmt> split(const Stmt& s, const SplitLoop& sp, const ScheduleTransform& t) {
  if (sp.factor < 1) return reject(RejectKind::OutOfRange, t, "the factor must be at least 1");
  auto loop = find_loop(s, sp.loop, t);
  if (!loop.ok()) return loop.rejection();
  const For* f = loop.value();
  Expr outer = Var::make(base_name(sp.loop) + "o"), inner = Var::make(base_name(sp.loop) + "i");
  Expr extent = simplify(f->extent);
  Expr value = f->min + outer * sp.factor + inner;
  Stmt body = substitute(f->body, f->var, value);
  const int64_t* e = as_const_int(extent);
  if (!e || *e % sp.factor != 0) body = IfThenElse::make(outer * sp.factor + inner < extent, body);
  bool vec = f->for_kind == ForKind::Vectorized;
  Stmt in = For::make(inner, 0, sp.factor, vec ? ForKind::Vectorized : ForKind::Serial, body);
  Stmt out = For::make(outer, 0, simplify((extent + (sp.factor - 1)) / sp.factor),
                       vec ? ForKind::Serial : f->for_kind, in);
  return Stmt(ReplaceLoop(f, out).mutate(s));
}

Expected<Stmt> reorder(const Stmt& s, const Reorder& r, const ScheduleTransform& t) {
  auto outer = find_loop(s, r.outer, t);
  if (!outer.ok()) return outer.rejection();
  auto inner = perfectly_inner(s, outer.value(), r.inner, t);
  if (!inner.ok()) return inner.rejection();
  const For *a = outer.value(), *b = inner.value().inner;
  if (auto why = dependence(a, false)) return reject(RejectKind::Dependence, t, *why);
  Stmt swapped =
      For::make(b->var, b->min, b->extent, b->for_kind,
                For::make(a->var, a->min, a->extent, a->for_kind, inner.value().wrap(b->body)));
  return Stmt(ReplaceLoop(a, swapped).mutate(s));
}

Expected<Stmt> fuse(const Stmt& s, const FuseLoops& fl, const ScheduleTransform& t) {
  auto outer = find_loop(s, fl.outer, t);
  if (!outer.ok()) return outer.rejection();
  auto inner = perfectly_inner(s, outer.value(), fl.inner, t);
  if (!inner.ok()) return inner.rejection();
  const For *a = outer.value(), *b = inner.value().inner;
  Expr fused = Var::make(base_name(fl.outer) + "_" + base_name(fl.inner));
  Expr eb = simplify(b->extent);
  Stmt body = substitute(inner.value().wrap(b->body), {{a->var.get(), a->min + fused / eb},
                                                       {b->var.get(), b->min + fused % eb}});
  Stmt loop = For::make(fused, 0, simplify(a->extent * eb), a->for_kind, body);
  return Stmt(ReplaceLoop(a, loop).mutate(s));
}

}  // namespace

std::string to_string(const ScheduleTransform& t) {
  return std::visit(
      Overloaded{
          [](const SplitLoop& s) {
            return "split(" + s.loop + ", " + std::to_string(s.factor) + ")";
          },
          [](const Reorder& r) { return "reorder(" + r.outer + ", " + r.inner + ")"; },
          [](const FuseLoops& f) { return "fuse(" + f.outer + ", " + f.inner + ")"; },
          [](const Tile& t) {
            return "tile(" + t.outer + ", " + t.inner + ", " + std::to_string(t.outer_factor) +
                   ", " + std::to_string(t.inner_factor) + ")";
          },
          [](const Unroll& u) { return "unroll(" + u.loop + ")"; },
          [](const Vectorize& v) { return "vectorize(" + v.loop + ")"; },
          [](const Parallelize& p) { return "parallel(" + p.loop + ")"; },
      },
      t);
}

std::string print_schedule(const Schedule& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "; " : "") + to_string(s[i]);
  return out;
}

Schedule parse_schedule(const std::string& text) {
  Schedule out;
  std::stringstream steps(text);
  std::string step;
  while (std::getline(steps, step, ';')) {
    auto trim = [](std::string v) {
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      return v;
    };
    step = trim(step);
    if (step.empty()) continue;
    size_t open = step.find('('), close = step.rfind(')');
    if (open == std::string::npos || close != step.size() - 1)
      user_error("cannot parse schedule step '", step, "' in '", text, "': expected name(args)");
    std::string name = trim(step.substr(0, open));
    std::vector<std::string> args;
    std::stringstream as(step.substr(open + 1, close - open - 1));
    std::string a;
    while (std::getline(as, a, ',')) args.push_back(trim(a));
    auto need = [&](size_t n) {
      if (args.size() != n)
        user_error("schedule step '", step, "' takes ", n, " argument", n == 1 ? "" : "s");
    };
    auto number = [&](const std::string& v) -> int64_t {
      try {
        size_t used;
        int64_t x = std::stoll(v, &used);
        if (used == v.size()) return x;
      } catch (const std::exception&) {
      }
      user_error("schedule step '", step, "': '", v, "' is not an integer");
    };
    if (name == "split") {
      need(2);
      out.push_back(SplitLoop{args[0], number(args[1])});
    } else if (name == "reorder") {
      need(2);
      out.push_back(Reorder{args[0], args[1]});
    } else if (name == "fuse") {
      need(2);
      out.push_back(FuseLoops{args[0], args[1]});
    } else if (name == "tile") {
      need(4);
      out.push_back(Tile{args[0], args[1], number(args[2]), number(args[3])});
    } else if (name == "unroll") {
      need(1);
      out.push_back(Unroll{args[0]});
    } else if (name == "vectorize") {
      need(1);
      out.push_back(Vectorize{args[0]});
    } else if (name == "parallel") {
      need(1);
      out.push_back(Parallelize{args[0]});
    } else
      user_error("unknown schedule transformation '", name,
                 "' (known: split, reorder, fuse, tile, unroll, vectorize, parallel)");
  }
  return out;
}

Expected<Stmt> apply_schedule(const ScheduleTransform& t, const Stmt& s) {
  return std::visit(
      Overloaded{
          [&](const SplitLoop& sp) { return split(s, sp, t); },
          [&](const Reorder& r) { return reorder(s, r, t); },
          [&](const FuseLoops& f) { return fuse(s, f, t); },
          [&](const Tile& tl) -> Expected<Stmt> {
            auto y = find_loop(s, tl.outer, t);
            if (!y.ok()) return y.rejection();
            auto x = perfectly_inner(s, y.value(), tl.inner, t);
            if (!x.ok()) return x.rejection();
            auto a = split(s, {tl.outer, tl.outer_factor}, t);
            if (!a.ok()) return a;
            auto b = split(a.value(), {tl.inner, tl.inner_factor}, t);
            if (!b.ok()) return b;
            return reorder(b.value(), {tl.outer + "i", tl.inner + "o"}, t);
          },
          [&](const Unroll& u) { return with_kind(s, u.loop, ForKind::Unrolled, t); },
          [&](const Vectorize& v) { return with_kind(s, v.loop, ForKind::Vectorized, t); },
          [&](const Parallelize& p) { return with_kind(s, p.loop, ForKind::Parallel, t); },
      },
      t);
}

Expected<Stmt> apply_schedule(const Schedule& schedule, const Stmt& s) {
  Stmt cur = s;
  for (const ScheduleTransform& t : schedule) {
    Expected<Stmt> next = apply_schedule(t, cur);
    if (!next.ok()) return next;
    cur = next.value();
  }
  return cur;
}

std::vector<std::string> loop_addresses(const Stmt& s) {
  LoopFinder f;
  f.visit_stmt(s);
  std::vector<std::string> out;
  for (const auto& [name, list] : f.loops)
    for (size_t k = 0; k < list.size(); ++k)
      out.push_back(list.size() == 1 ? name : name + "#" + std::to_string(k));
  return out;
}

}  // namespace nasx
