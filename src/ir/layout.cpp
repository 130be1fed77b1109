#include "ir/layout.h"

#include "support/error.h"

namespace nasx::ir {

bool Layout::fits(const std::vector<int64_t>& logical) const {
  int rank = static_cast<int>(logical.size());
  if (block_dim >= rank || halo_dim >= rank || block < 1 || halo < 0) return false;
  return block_dim < 0 || logical[block_dim] % block == 0;
}

std::vector<int64_t> Layout::physical_shape(const std::vector<int64_t>& logical) const {
  NASX_ASSERT(fits(logical), "layout ", to_string(), " does not fit the shape");
  std::vector<int64_t> p = logical;
  if (halo_dim >= 0)
    for (size_t d = halo_dim; d < logical.size(); ++d) p[d] += 2 * halo;
  if (block_dim >= 0) {
    p[block_dim] /= block;
    p.push_back(block);
  }
  return p;
}

int64_t Layout::physical_size(const std::vector<int64_t>& logical) const {
  int64_t n = 1;
  for (int64_t d : physical_shape(logical)) n *= d;
  return n;
}

namespace {
// The offset of `index` given the physical shape `p` (computed once by loops over elements).
int64_t offset_in(const Layout& l, const std::vector<int64_t>& p,
                  const std::vector<int64_t>& index) {
  int64_t flat = 0;
  for (size_t d = 0; d < index.size(); ++d) {
    int64_t i = index[d];
    if (static_cast<int>(d) == l.block_dim) i /= l.block;
    if (l.halo_dim >= 0 && static_cast<int>(d) >= l.halo_dim) i += l.halo;
    flat = flat * p[d] + i;
  }
  if (l.block_dim >= 0) flat = flat * l.block + index[l.block_dim] % l.block;
  return flat;
}
}  // namespace

int64_t Layout::offset(const std::vector<int64_t>& logical,
                       const std::vector<int64_t>& index) const {
  return offset_in(*this, physical_shape(logical), index);
}

std::string Layout::to_string() const {
  if (plain()) return "plain";
  std::string s;
  if (block_dim >= 0) s = "blocked" + std::to_string(block) + "@" + std::to_string(block_dim);
  if (halo > 0)
    s += (s.empty() ? "" : "+") + std::string("halo") + std::to_string(halo) + "@" +
         std::to_string(halo_dim) + "..";
  return s;
}

namespace {
// Calls f(logical flat index, physical offset) for every logical element.
template <typename F>
void for_each_element(const std::vector<int64_t>& logical, const Layout& layout, F f) {
  int64_t count = 1;
  for (int64_t d : logical) count *= d;
  std::vector<int64_t> physical = layout.physical_shape(logical);
  std::vector<int64_t> index(logical.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    f(flat, offset_in(layout, physical, index));
    for (int d = static_cast<int>(logical.size()) - 1; d >= 0; --d) {
      if (++index[d] < logical[d]) break;
      index[d] = 0;
    }
  }
}
}  // namespace

std::vector<float> to_physical(const std::vector<float>& logical_data,
                               const std::vector<int64_t>& logical, const Layout& layout) {
  std::vector<float> out(layout.physical_size(logical), 0.0f);
  for_each_element(logical, layout, [&](int64_t i, int64_t o) { out[o] = logical_data[i]; });
  return out;
}

std::vector<float> from_physical(const float* physical_data, const std::vector<int64_t>& logical,
                                 const Layout& layout) {
  int64_t count = 1;
  for (int64_t d : logical) count *= d;
  std::vector<float> out(count);
  for_each_element(logical, layout, [&](int64_t i, int64_t o) { out[i] = physical_data[o]; });
  return out;
}

}  // namespace nasx::ir
