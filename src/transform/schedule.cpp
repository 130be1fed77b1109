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
#include "support/text.h"

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

// The loop a handle names in the state's statement.
Expected<const For*> find_loop(const ScheduleState& st, const std::string& address,
                               const ScheduleTransform& t) {
  auto [name, k] = parse_address(address);
  if (k == -2)
    return reject(RejectKind::NoSuchLoop, t,
                  "'" + address + "' is not a loop address (name or name#k)");
  auto it = st.loops.find(address);
  if (it == st.loops.end()) {
    std::vector<std::string> same;  // handles of loops with this name
    for (const auto& [a, v] : st.loops)
      if (a.substr(0, a.find('#')) == name) same.push_back(a);
    if (same.empty()) return reject(RejectKind::NoSuchLoop, t, "no loop named '" + name + "'");
    std::string list;
    for (size_t i = 0; i < same.size(); ++i) list += (i ? ", " : "") + same[i];
    if (k < 0 && same.size() > 1)
      return reject(RejectKind::NoSuchLoop, t,
                    std::to_string(same.size()) + " loops are named '" + name +
                        "': address one as " + same.front() + " .. " + same.back() + " (" + list +
                        ")");
    return reject(RejectKind::NoSuchLoop, t,
                  "no loop " + address + " (now: " + list +
                      "; a loop that an earlier step split, fused or tiled is gone)");
  }
  const For* found = nullptr;
  LoopFinder f;
  f.visit_stmt(st.stmt);
  for (const auto& [n, list] : f.loops)
    for (const For* l : list)
      if (l->var.get() == it->second.get()) found = l;
  if (!found) return reject(RejectKind::NoSuchLoop, t, "no loop " + address);
  return found;
}

// The name new loops derive from: the address without its position.
std::string base_name(const std::string& address) {
  return address.substr(0, address.find('#'));
}

// The handle of a loop made from `address`: its name with `suffix`, in the same statement
// (split(y#1, f) makes yo#1 and yi#1).
std::string derived(const std::string& address, const std::string& suffix) {
  size_t hash = address.find('#');
  return base_name(address) + suffix + (hash == std::string::npos ? "" : address.substr(hash));
}

// Replaces the handles `gone` with `made` (address, variable) once a step succeeded.
Expected<std::vector<std::string>> commit(ScheduleState& st, Stmt next,
                                          const std::vector<std::string>& gone,
                                          const std::vector<std::pair<std::string, Expr>>& made,
                                          const ScheduleTransform& t) {
  std::map<std::string, Expr> loops = st.loops;
  for (const std::string& g : gone) loops.erase(g);
  std::vector<std::string> out;
  for (const auto& [address, var] : made) {
    if (loops.count(address))
      return reject(RejectKind::Unsupported, t, "it would make a second loop addressed " + address);
    loops[address] = var;
    out.push_back(address);
  }
  st.stmt = std::move(next);
  st.loops = std::move(loops);
  return out;
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

Expected<Stmt> with_kind(const ScheduleState& st, const std::string& name, ForKind kind,
                         const ScheduleTransform& t) {
  const Stmt& s = st.stmt;
  auto loop = find_loop(st, name, t);
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

Expected<Nesting> perfectly_inner(const ScheduleState& st, const For* outer,
                                  const std::string& inner, const ScheduleTransform& t) {
  auto named = find_loop(st, inner, t);
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

Expected<std::vector<std::string>> split(ScheduleState& st, const SplitLoop& sp,
                                         const ScheduleTransform& t) {
  if (sp.factor < 1) return reject(RejectKind::OutOfRange, t, "the factor must be at least 1");
  auto loop = find_loop(st, sp.loop, t);
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
  return commit(st, ReplaceLoop(f, out).mutate(st.stmt), {sp.loop},
                {{derived(sp.loop, "o"), outer}, {derived(sp.loop, "i"), inner}}, t);
}

Expected<std::vector<std::string>> reorder(ScheduleState& st, const Reorder& r,
                                           const ScheduleTransform& t) {
  auto outer = find_loop(st, r.outer, t);
  if (!outer.ok()) return outer.rejection();
  auto inner = perfectly_inner(st, outer.value(), r.inner, t);
  if (!inner.ok()) return inner.rejection();
  const For *a = outer.value(), *b = inner.value().inner;
  if (auto why = dependence(a, false)) return reject(RejectKind::Dependence, t, *why);
  Stmt swapped =
      For::make(b->var, b->min, b->extent, b->for_kind,
                For::make(a->var, a->min, a->extent, a->for_kind, inner.value().wrap(b->body)));
  return commit(st, ReplaceLoop(a, swapped).mutate(st.stmt), {}, {}, t);  // same loops, swapped
}

Expected<std::vector<std::string>> fuse(ScheduleState& st, const FuseLoops& fl,
                                        const ScheduleTransform& t) {
  auto outer = find_loop(st, fl.outer, t);
  if (!outer.ok()) return outer.rejection();
  auto inner = perfectly_inner(st, outer.value(), fl.inner, t);
  if (!inner.ok()) return inner.rejection();
  const For *a = outer.value(), *b = inner.value().inner;
  Expr fused = Var::make(base_name(fl.outer) + "_" + base_name(fl.inner));
  Expr eb = simplify(b->extent);
  Stmt body = substitute(inner.value().wrap(b->body), {{a->var.get(), a->min + fused / eb},
                                                       {b->var.get(), b->min + fused % eb}});
  Stmt loop = For::make(fused, 0, simplify(a->extent * eb), a->for_kind, body);
  return commit(st, ReplaceLoop(a, loop).mutate(st.stmt), {fl.outer, fl.inner},
                {{derived(fl.outer, "_" + base_name(fl.inner)), fused}}, t);
}

// tile(y, x, fy, fx) = split(y, fy); split(x, fx); reorder(yi, xo), all or nothing.
Expected<std::vector<std::string>> tile(ScheduleState& st, const TileLoops& tl,
                                        const ScheduleTransform& t) {
  auto y = find_loop(st, tl.outer, t);
  if (!y.ok()) return y.rejection();
  auto x = perfectly_inner(st, y.value(), tl.inner, t);
  if (!x.ok()) return x.rejection();
  ScheduleState work = st;
  for (const SplitLoop& sp : {SplitLoop{tl.outer, tl.outer_factor}, {tl.inner, tl.inner_factor}}) {
    auto made = split(work, sp, t);
    if (!made.ok()) return made;
  }
  auto swapped = reorder(work, {derived(tl.outer, "i"), derived(tl.inner, "o")}, t);
  if (!swapped.ok()) return swapped;
  st = std::move(work);
  return std::vector<std::string>{derived(tl.outer, "o"), derived(tl.inner, "o"),
                                  derived(tl.outer, "i"), derived(tl.inner, "i")};
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
          [](const TileLoops& t) {
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
  for (std::string step : split(text, ';')) {
    step = trim(step);
    if (step.empty()) continue;
    size_t open = step.find('('), close = step.rfind(')');
    if (open == std::string::npos || close != step.size() - 1)
      user_error("cannot parse schedule step '", step, "' in '", text, "': expected name(args)");
    std::string name = trim(step.substr(0, open));
    std::string inside = trim(step.substr(open + 1, close - open - 1));
    std::vector<std::string> args;
    if (!inside.empty())
      for (const std::string& a : split(inside, ',')) args.push_back(trim(a));
    auto need = [&](size_t n) {
      if (args.size() != n)
        user_error("schedule step '", step, "' takes ", n, " argument", n == 1 ? "" : "s");
    };
    auto number = [&](const std::string& v) -> int64_t {
      if (std::optional<int64_t> x = parse_int(v)) return *x;
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
      out.push_back(TileLoops{args[0], args[1], number(args[2]), number(args[3])});
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

ScheduleState::ScheduleState(Stmt s) : stmt(std::move(s)) {
  LoopFinder f;
  f.visit_stmt(stmt);
  for (const auto& [name, list] : f.loops)
    for (size_t k = 0; k < list.size(); ++k)
      loops[list.size() == 1 ? name : name + "#" + std::to_string(k)] = list[k]->var;
}

std::vector<std::string> ScheduleState::addresses() const {
  std::vector<std::string> out;
  for (const auto& [address, var] : loops) out.push_back(address);
  return out;
}

Expected<std::vector<std::string>> apply_step(const ScheduleTransform& t, ScheduleState& st) {
  auto kind = [&](const std::string& loop, ForKind k) -> Expected<std::vector<std::string>> {
    Expected<Stmt> next = with_kind(st, loop, k, t);
    if (!next.ok()) return next.rejection();
    st.stmt = next.value();  // the same loop, marked: its handle holds
    return std::vector<std::string>{};
  };
  return std::visit(Overloaded{
                        [&](const SplitLoop& sp) { return split(st, sp, t); },
                        [&](const Reorder& r) { return reorder(st, r, t); },
                        [&](const FuseLoops& f) { return fuse(st, f, t); },
                        [&](const TileLoops& tl) { return tile(st, tl, t); },
                        [&](const Unroll& u) { return kind(u.loop, ForKind::Unrolled); },
                        [&](const Vectorize& v) { return kind(v.loop, ForKind::Vectorized); },
                        [&](const Parallelize& p) { return kind(p.loop, ForKind::Parallel); },
                    },
                    t);
}

Expected<Stmt> apply_schedule(const ScheduleTransform& t, const Stmt& s) {
  return apply_schedule(Schedule{t}, s);
}

Expected<Stmt> apply_schedule(const Schedule& schedule, const Stmt& s) {
  ScheduleState st(s);
  for (const ScheduleTransform& t : schedule) {
    auto made = apply_step(t, st);
    if (!made.ok()) return made.rejection();
  }
  return st.stmt;
}

std::vector<std::string> loop_addresses(const Stmt& s) {
  return ScheduleState(s).addresses();
}

}  // namespace nasx
