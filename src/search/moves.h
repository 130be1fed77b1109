// Moves: what one verdict judges. A move puts one candidate sequence on one or more units of the
// search space (space.h). Coarse moves come first (docs/search.md, "Coarse to fine"):
//   network  one sequence on every unit of a role across the whole network: the same layer of
//            every block (`layer*.*.conv1`: every block's first convolution), every downsample,
//            every convolution, every coupled channel class (a joint bottleneck of each)
//   stage    the same within one stage (`layer3.*.conv1`)
//   unit     one unit's own candidates, for the refinement
// A role is found from the layer names alone: the digits of every part of a name but its last
// are wildcards (network), or those after the first numbered part (stage), so any network whose
// layers are named by stage and block (torchvision's names, the zoo's, an ONNX import of them)
// gets roles. A role move covers the role's units that have the sequence among their candidates,
// and needs at least two of them. Coarse moves draw on a short menu of uniform sequences: the
// kinds trained networks show keep accuracy when applied everywhere (docs/results.md).
#pragma once

#include <string>
#include <vector>

#include "search/space.h"

namespace nasx {

enum class MoveLevel { Network, Stage, Unit };
const char* move_level_name(MoveLevel level);

struct MovePart {
  size_t unit = 0;                       // index into the units
  const Candidate* candidate = nullptr;  // one of that unit's candidates
};

struct Move {
  std::string name;  // "every layer*.*.conv1: group(4)", or "layer2.0.conv1: group(4)"
  MoveLevel level = MoveLevel::Unit;
  std::string sequence;  // the parts' common text
  std::vector<MovePart> parts;
  int64_t macs_delta = 0, params_delta = 0;  // summed over the parts, against the baseline
};

// The role of a layer at network and at stage level ("" when its name has no numbered part).
std::string network_role(const std::string& layer);
std::string stage_role(const std::string& layer);

// The sequences coarse moves draw on (printed).
const std::vector<std::string>& coarse_menu();

// Network-level moves, then stage-level ones, in a deterministic order.
std::vector<Move> coarse_moves(const std::vector<SearchUnit>& units, MoveLevel level);

// One move per candidate of unit `u`.
std::vector<Move> unit_moves(const std::vector<SearchUnit>& units, size_t u);

}  // namespace nasx
