// Rebuilding a network after a pass decided, per node, to keep it (possibly changed), to drop it
// because a later node absorbed it, or to let it stand for another node's output (alias). Inputs
// are renumbered; an aliased node's consumers read its target instead.
#pragma once

#include <optional>

#include "graph/network.h"

namespace nasx {

struct NodeEdit {
  bool drop = false;
  int alias = -1;                   // with drop: consumers read this (old) node instead
  std::optional<Node> replacement;  // keep, but as this node (inputs in old numbering)
};

// Consumes `net`: kept nodes are moved, so weights are never copied.
Network rewrite(Network net, std::vector<NodeEdit> edits);

// The nodes reading each node's output.
std::vector<std::vector<int>> consumers(const Network& net);

}  // namespace nasx
