#include "lower/param_packing.h"

#include "ir/layout.h"
#include "support/error.h"

namespace nasx {

std::vector<float> ParamPacking::pack(const Tensor& w, const ir::Buffer& arg) const {
  const Shape& a = arg->shape;
  if (!block_diagonal) {
    NASX_ASSERT(w.shape == a, "packing a weight of another shape");
    return ir::to_physical(w.data, a, arg->layout);
  }
  // Wp[co][j][ky][kx] = W[co][j % cpg][ky][kx] where j's group is co's group, else 0.
  int64_t co_n = a[0], kk = a[2] * a[3];
  std::vector<float> dense(co_n * span * kk, 0.0f);
  for (int64_t co = 0; co < co_n; ++co)
    for (int64_t j = 0; j < span; ++j) {
      if ((co % lanes) / co_per_group != j / ci_per_group) continue;
      for (int64_t t = 0; t < kk; ++t)
        dense[(co * span + j) * kk + t] = w.data[(co * ci_per_group + j % ci_per_group) * kk + t];
    }
  return ir::to_physical(dense, a, arg->layout);
}

}  // namespace nasx
