// How a buffer's logical elements lie in memory. Plain is row-major over the logical shape. A
// blocked layout splits dimension `block_dim` into blocks of `block` elements and moves the index
// within the block to the end: NCHW becomes NCHW16c (block_dim 1), a weight OIHW becomes
// [O/16][I][H][W][16o] (block_dim 0). A halo adds `halo` zero elements before and after along
// every dimension from `halo_dim` on (H and W for halo_dim 2), so a convolution reading it needs
// no bounds test for its padding.
// Kernels index buffers logically; storage flattening (and the runtime's packing) apply this map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nasx::ir {

struct Layout {
  int block_dim = -1;
  int64_t block = 1;
  int halo_dim = -1;
  int64_t halo = 0;

  static Layout blocked(int dim, int64_t block, int halo_dim = -1, int64_t halo = 0) {
    return {dim, block, halo_dim, halo};
  }
  bool plain() const { return block_dim < 0 && halo == 0; }
  // Whether `logical` can be stored this way (the blocked dimension divides into blocks).
  bool fits(const std::vector<int64_t>& logical) const;
  std::vector<int64_t> physical_shape(const std::vector<int64_t>& logical) const;
  int64_t physical_size(const std::vector<int64_t>& logical) const;
  // The physical offset of a logical index.
  int64_t offset(const std::vector<int64_t>& logical, const std::vector<int64_t>& index) const;
  std::string to_string() const;  // "plain", "blocked16@1", "blocked16@1+halo1@2.."
  bool operator==(const Layout&) const = default;
};

// Copies between a logical row-major array and its physical form; halo elements become zero.
std::vector<float> to_physical(const std::vector<float>& logical_data,
                               const std::vector<int64_t>& logical, const Layout& layout);
std::vector<float> from_physical(const float* physical_data, const std::vector<int64_t>& logical,
                                 const Layout& layout);

}  // namespace nasx::ir
