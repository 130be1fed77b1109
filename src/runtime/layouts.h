// Which layout every activation has. With a vector ISA (support/cpu.h), a convolution whose
// statements all fit the blocked template writes NCHW[V]c; other 4-D operators keep their
// inputs' blocking when their channels divide into vectors; global pooling, flatten and the
// classifier are plain. Every tensor that a convolution reads carries a halo as wide as the
// largest padding among its consumers, so reorders happen only at the network's edges: the
// input is copied once into its haloed layout, and the output is plain.
#pragma once

#include <vector>

#include "graph/network.h"
#include "ir/layout.h"

namespace nasx {

struct NetworkLayouts {
  ir::Layout input;
  std::vector<ir::Layout> nodes;  // per node output
};

NetworkLayouts assign_layouts(const Network& net, const std::vector<Shape>& shapes, int lanes);

// Whether every statement of `op`'s convolution takes the blocked template with these layouts
// (inputs..., output): what decides a blocked output, and which kernels the tuner tunes.
bool blocked_conv(const Op& op, const std::vector<ir::Layout>& layouts, int lanes);

// Layouts for one operator run on its own (inputs..., output), chosen the same way; all plain
// when the operator gains nothing from blocking.
std::vector<ir::Layout> op_layouts(const Op& op, const std::vector<Shape>& inputs, int lanes);

// Copies a plain 4-D activation into `layout` (interior only; the halo is left alone).
void pack_activation(const float* src, float* dst, const Shape& shape, const ir::Layout& layout);

// Zeroes the halo of a 4-D activation stored in `layout` (its interior is left alone).
void zero_halo(float* data, const Shape& shape, const ir::Layout& layout);

}  // namespace nasx
