// Neural transformations on ConvProgram: they change what is computed. Each is a value with a
// printer (and a parser, sequence.h) and apply(), which returns the new program or a Rejection.
//
// A sequence acts on a *focus*, the statements the next transformation applies to. Initially the
// focus is every statement. split(s) and spatial_split(s) focus on the parts they create; peel(u)
// focuses on the remainder B (statement A is final). A transformation with a list parameter,
// group([1,2,4,8]), gives one value to each focused statement in order; a scalar applies to all.
//
//   bottleneck(f)     output channels Co -> Co/f (every statement's co range scales by 1/f).
//                     Requires f to divide every statement's co bounds, keeping whole groups.
//   group(g)          each focused statement: groups *= g, ci_per_group /= g.
//                     Requires g to divide ci_per_group and the output channels per group.
//   depthwise         group(ci_per_group) on each focused statement: one input channel per group.
//                     Requires the output channels per group to be a multiple of ci_per_group.
//   split(s)          index-set split of each focused statement's co range into s statements with
//                     their own weights. Requires s | co extent, and s | groups or groups | s.
//   peel(u)           the focused statement (dense, one) becomes A: co < u over all ci, and
//                     B: co >= u over ci >= u. Requires 0 < u < co extent and u < ci extent.
//   spatial_split(s)  each focused statement splits into s row tiles, each with its own weights
//                     and its own zero padding at the tile edges (its input window is its tile).
//                     Requires s to divide the output rows and the input rows.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "program/conv_program.h"
#include "transform/rejection.h"

namespace nasx {

struct Bottleneck {
  int64_t factor = 1;
  bool operator==(const Bottleneck&) const = default;
};
struct Group {
  std::vector<int64_t> groups;  // one value for all focused statements, or one per statement
  bool operator==(const Group&) const = default;
};
struct Depthwise {
  bool operator==(const Depthwise&) const = default;
};
// The index-set split of the output channels ("split" in the sequence language; the schedule
// language's split of a loop is SplitLoop).
struct IndexSplit {
  int64_t parts = 1;
  bool operator==(const IndexSplit&) const = default;
};
struct Peel {
  int64_t u = 1;
  bool operator==(const Peel&) const = default;
};
struct SpatialSplit {
  int64_t parts = 1;
  bool operator==(const SpatialSplit&) const = default;
};

using NeuralTransform = std::variant<Bottleneck, Group, Depthwise, IndexSplit, Peel, SpatialSplit>;
using NeuralSequence = std::vector<NeuralTransform>;

std::string to_string(const NeuralTransform& t);

struct FocusedProgram {
  ConvProgram program;
  std::vector<size_t> focus;  // statement indices
  static FocusedProgram all(ConvProgram p);
};

Expected<FocusedProgram> apply_neural(const NeuralTransform& t, const FocusedProgram& in);
Expected<ConvProgram> apply_sequence(const NeuralSequence& seq, const ConvProgram& program);

}  // namespace nasx
