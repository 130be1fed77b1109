#include "lower/flatten_storage.h"

#include "ir/visitor.h"
#include "support/error.h"

namespace nasx {
namespace {

using namespace ir;

// The physical offset of a logical index under the buffer's layout (ir/layout.h).
Expr flat_index(const Buffer& b, const std::vector<Expr>& idx) {
  NASX_ASSERT(idx.size() == b->shape.size(), "access to ", b->name, " with ", idx.size(),
              " indices, buffer has rank ", b->shape.size());
  const Layout& l = b->layout;
  std::vector<int64_t> extent = l.physical_shape(b->shape);
  Expr flat;
  for (size_t d = 0; d < idx.size(); ++d) {
    Expr i = idx[d];
    if (static_cast<int>(d) == l.block_dim) i = i / Expr(l.block);
    if (l.halo_dim >= 0 && static_cast<int>(d) >= l.halo_dim) i = i + Expr(l.halo);
    flat = d == 0 ? i : flat * extent[d] + i;
  }
  if (l.block_dim >= 0) flat = flat * l.block + idx[l.block_dim] % Expr(l.block);
  return flat;
}

class FlattenStorage : public IRMutator {
 protected:
  using IRMutator::visit;
  Expr visit(const Load* n, const Expr& self) override {
    if (n->indices.size() == 1 && n->buffer->shape.size() == 1 && n->buffer->layout.plain())
      return IRMutator::visit(n, self);
    bool changed = false;
    return Load::make(n->buffer, {flat_index(n->buffer, mutate_all(n->indices, &changed))},
                      n->lanes);
  }
  Stmt visit(const Store* n, const Stmt& self) override {
    if (n->indices.size() == 1 && n->buffer->shape.size() == 1 && n->buffer->layout.plain())
      return IRMutator::visit(n, self);
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
