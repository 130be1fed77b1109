#include "lower/unroll_loops.h"

#include "ir/printer.h"
#include "ir/simplify.h"
#include "ir/substitute.h"
#include "ir/visitor.h"
#include "support/error.h"

namespace nasx {
namespace {

using namespace ir;

class UnrollLoops : public IRMutator {
 protected:
  using IRMutator::visit;
  Stmt visit(const For* n, const Stmt& self) override {
    if (n->for_kind != ForKind::Unrolled) return IRMutator::visit(n, self);
    Expr extent = simplify(n->extent);
    const int64_t* e = as_const_int(extent);
    NASX_ASSERT(e, "unrolled loop over ", to_string(n->var), " has non-constant extent ",
                to_string(extent));
    Stmt body = mutate(n->body);
    std::vector<Stmt> copies;
    for (int64_t i = 0; i < *e; ++i) copies.push_back(substitute(body, n->var, n->min + i));
    return Block::make(std::move(copies));
  }
};

}  // namespace

Stmt unroll_loops(const Stmt& s) {
  return UnrollLoops().mutate(s);
}

}  // namespace nasx
