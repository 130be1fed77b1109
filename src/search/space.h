// The search space: for each unit (one convolution layer, or one coupled channel class whose
// producers must change together), the neural transformation sequences the grammar allows.
//
// Grammar (one step of each part at most, in this order, up to --max-len steps):
//     sequence := [bottleneck(f)] [split(s) | peel(u) | spatial_split(s)] [group(g) | depthwise]
// so the paper's Seq1 (split; group([...])), Seq2 (peel; group) and Seq3 (spatial_split; ...)
// families are in the space, with bottlenecks composed in front. Parameters come from the valid
// divisor sets of the program at that step: f in {2, 4, 8} dividing the output channels; s in
// {2, 4} dividing the dimension split; u in {Co/4, Co/2}; g every divisor of the statement's
// input channels per group up to 32. After a split a group takes one value per part: lists are
// drawn with a seeded generator (3 draws, each element from the valid set of its part, 1
// included), so the space is deterministic for a seed. A sequence whose apply() is rejected is
// dropped and its rejection kind counted; sequences giving an identical program are kept once.
//
// A coupled class (channels tied by residual adds or concats) gets bottleneck(f) applied to all of
// its producing convolutions together; those candidates also shrink every consumer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/network.h"
#include "transform/neural.h"

namespace nasx {

struct Candidate {
  NeuralSequence sequence;
  std::string text;        // printed sequence
  int64_t macs_delta = 0;  // estimated change of network MACs (negative: fewer)
  int64_t params_delta = 0;
};

struct SearchUnit {
  std::string name;                 // the layer, or "coupled(first producer +n)"
  std::vector<std::string> layers;  // transformed together
  bool joint = false;
  int64_t macs = 0;    // MACs of the unit's layers and their consumers (what it can save)
  int64_t params = 0;  // parameters of the same layers
  std::vector<std::string> affected;  // those layers: the unit's and the consumers it may shrink
  std::vector<Candidate> candidates;
};

struct SpaceCounts {
  int64_t generated = 0, duplicates = 0;
  std::map<std::string, int64_t> rejected;  // by rejection kind
  int64_t rejected_total() const;
};

// Units for the convolution layers in `layers` (network order), then one per coupled class whose
// conv producers all lie in `layers`. Candidates sorted by estimated MACs, fewest first.
std::vector<SearchUnit> build_search_space(const Network& net,
                                           const std::vector<std::string>& layers, int max_len,
                                           uint64_t seed, SpaceCounts& counts);

}  // namespace nasx
