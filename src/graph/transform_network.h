// Neural transformations applied to a network's layers.
//
// transform_layer(net, layer, sequence) rewrites one convolution's program and re-initialises the
// weights that changed (the family's rule, seeded by (seed, layer)). A sequence that changes the
// layer's output channels (bottleneck) also shrinks its consumers: batch norms, ReLUs and pooling
// pass the change on, the next convolutions' input channels shrink. That is allowed only on a
// free channel dimension: if the output channels are coupled by a residual add or a concat, the
// transformation is rejected with the coupling explained. Every failure is a UserError naming the
// layer, the transformation and the violated precondition; the network is unchanged then.
#pragma once

#include <string>
#include <vector>

#include "graph/network.h"
#include "transform/neural.h"

namespace nasx {

void transform_layer(Network& net, const std::string& layer, const NeuralSequence& sequence,
                     uint64_t seed);

// Layer names matching a glob (`*` and `?`, as in `layer3.*.conv1`) that are convolutions, in
// network order. UserError when nothing matches.
std::vector<std::string> match_conv_layers(const Network& net, const std::string& glob);

}  // namespace nasx
