#include "graph/rewrite.h"

#include "support/error.h"

namespace nasx {

std::vector<std::vector<int>> consumers(const Network& net) {
  std::vector<std::vector<int>> c(net.nodes.size());
  for (size_t i = 0; i < net.nodes.size(); ++i)
    for (int k : net.nodes[i].inputs)
      if (k != kNetworkInput) c[k].push_back(static_cast<int>(i));
  return c;
}

Network rewrite(Network net, std::vector<NodeEdit> edits) {
  NASX_ASSERT(edits.size() == net.nodes.size());
  Network out;
  out.name = net.name;
  out.family = net.family;
  out.input_chw = net.input_chw;
  out.num_classes = net.num_classes;
  std::vector<int> new_index(net.nodes.size(), -1);
  std::vector<std::string> names;  // for messages: kept nodes are moved out of `net` below
  for (const Node& n : net.nodes) names.push_back(n.name);
  auto resolve = [&](int old) {
    if (old == kNetworkInput) return old;
    while (edits[old].drop && edits[old].alias >= 0) old = edits[old].alias;
    NASX_ASSERT(new_index[old] >= 0, "node ", names[old],
                " is read before it is computed, or was dropped without an alias");
    return new_index[old];
  };
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    if (edits[i].drop) continue;
    Node n = edits[i].replacement ? std::move(*edits[i].replacement) : std::move(net.nodes[i]);
    for (int& k : n.inputs) k = resolve(k);
    out.nodes.push_back(std::move(n));
    new_index[i] = static_cast<int>(out.nodes.size()) - 1;
  }
  NASX_ASSERT(!edits.back().drop || edits.back().alias >= 0, "the output node was dropped");
  if (edits.back().drop) {
    // The output must stay last: the alias target is the output; it is last unless something
    // after it was kept, which a pass never does for the output.
    NASX_ASSERT(
        resolve(static_cast<int>(net.nodes.size()) - 1) == static_cast<int>(out.nodes.size()) - 1,
        "the output is no longer the last node");
  }
  return out;
}

}  // namespace nasx
