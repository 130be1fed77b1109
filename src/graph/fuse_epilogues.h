// Fusion: a convolution and what follows it become one kernel, so the output is written once.
//   conv -> add(., r) [-> relu]  becomes FusedConv{residual, relu?} at the add's position
//   conv -> relu                  becomes FusedConv{relu}
//   batch_norm -> relu            becomes BatchNorm{relu}
// A producer is absorbed only when nothing else reads it. Run after fold_batch_norm, so that
// conv -> bn -> relu has become conv(+bias) -> relu.
#pragma once

#include "graph/network.h"

namespace nasx {

Network fuse_epilogues(Network net);  // consumes net: weights move, never copy

}  // namespace nasx
