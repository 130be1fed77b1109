// Neural transformations applied to a network's layers.
//
// transform_layers(net, layers, sequence) rewrites the programs of the named convolutions, all
// with the same sequence and at once. When the sequence changes their output channels
// (bottleneck), the change flows forward: batch norms, ReLUs, pooling and concats follow the new
// channel counts, and the next convolutions (and a classifier behind global pooling) shrink their
// inputs. On a free channel dimension one layer may change alone. On a coupled one (a residual add
// or a concat ties it to other layers) every convolution producing into that coupled class must be
// among `layers` (transformed together); otherwise the transformation is rejected with the
// coupling explained. Changed weights are re-initialised by the family's rule, seeded by
// (seed, layer). Every failure is a UserError naming the layer, the transformation and the
// violated precondition (a TransformError when a precondition fails); the network is unchanged
// then.
#pragma once

#include <string>
#include <vector>

#include "graph/network.h"
#include "transform/neural.h"

namespace nasx {

// A transformation that does not apply to a layer: still a user error (exit 2, one line), but
// typed, so the search counts rejections by kind and tests match kinds, not text.
class TransformError : public UserError {
 public:
  TransformError(RejectKind kind, std::string layer, const std::string& message)
      : UserError(message), kind(kind), layer(std::move(layer)) {}
  RejectKind kind;
  std::string layer;
};

void transform_layers(Network& net, const std::vector<std::string>& layers,
                      const NeuralSequence& sequence, uint64_t seed);
inline void transform_layer(Network& net, const std::string& layer, const NeuralSequence& sequence,
                            uint64_t seed) {
  transform_layers(net, {layer}, sequence, seed);
}

// Convolution layers matching a comma-separated list of names or globs (`*` and `?`, as in
// `layer3.*.conv1, layer4.0.downsample.0`), in network order. UserError when a pattern matches
// no convolution.
std::vector<std::string> match_conv_layers(const Network& net, const std::string& patterns);

}  // namespace nasx
