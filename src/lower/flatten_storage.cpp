#include "lower/flatten_storage.h"

#include "ir/visitor.h"
#include "support/error.h"

namespace nasx {
namespace {

using namespace ir;

Expr flat_index(const Buffer& b, const std::vector<Expr>& idx) {
  NASX_ASSERT(idx.size() == b->shape.size(), "access to ", b->name, " with ", idx.size(),
              " indices, buffer has rank ", b->shape.size());
  Expr flat = idx[0];
  for (size_t d = 1; d < idx.size(); ++d) flat = flat * b->shape[d] + idx[d];
  return flat;
}

class FlattenStorage : public IRMutator {
 protected:
  using IRMutator::visit;
  Expr visit(const Load* n, const Expr& self) override {
    if (n->indices.size() == 1 && n->buffer->shape.size() == 1) return IRMutator::visit(n, self);
    bool changed = false;
    return Load::make(n->buffer, {flat_index(n->buffer, mutate_all(n->indices, &changed))});
  }
  Stmt visit(const Store* n, const Stmt& self) override {
    if (n->indices.size() == 1 && n->buffer->shape.size() == 1) return IRMutator::visit(n, self);
    bool changed = false;
    return Store::make(n->buffer, {flat_index(n->buffer, mutate_all(n->indices, &changed))},
                       mutate(n->value));
  }
};

}  // namespace

Stmt flatten_storage(const Stmt& s) {
  return FlattenStorage().mutate(s);
}

}  // namespace nasx
