#include "graph/fuse_epilogues.h"

#include "graph/rewrite.h"

namespace nasx {

Network fuse_epilogues(Network net) {
  std::vector<NodeEdit> edits(net.nodes.size());
  auto readers = consumers(net);
  auto sole_reader = [&](int k, int reader) {
    return k != kNetworkInput && readers[k].size() == 1 && readers[k][0] == reader &&
           !edits[k].drop && !edits[k].replacement;
  };
  auto relu_after = [&](int node) -> int {
    if (readers[node].size() != 1) return -1;
    int r = readers[node][0];
    return std::holds_alternative<Relu>(net.nodes[r].op) ? r : -1;
  };

  // conv -> add [-> relu]
  for (size_t a = 0; a < net.nodes.size(); ++a) {
    if (!std::holds_alternative<ResidualAdd>(net.nodes[a].op)) continue;
    const std::vector<int>& in = net.nodes[a].inputs;
    for (int side = 0; side < 2; ++side) {
      int c = in[side];
      if (!sole_reader(c, static_cast<int>(a))) continue;
      const ConvProgram* conv = std::get_if<ConvProgram>(&net.nodes[c].op);
      if (!conv) continue;
      int r = relu_after(static_cast<int>(a));
      FusedConv op{*conv, true, r >= 0};
      std::vector<int> inputs{net.nodes[c].inputs[0], in[1 - side]};
      Node fused = std::move(net.nodes[c]);
      fused.op = std::move(op);
      fused.inputs = std::move(inputs);
      edits[a].replacement = std::move(fused);
      edits[c].drop = true;
      if (r >= 0) edits[r] = {true, static_cast<int>(a), std::nullopt};
      break;
    }
  }
  // conv -> relu, batch_norm -> relu
  for (size_t r = 0; r < net.nodes.size(); ++r) {
    if (!std::holds_alternative<Relu>(net.nodes[r].op) || edits[r].drop) continue;
    int k = net.nodes[r].inputs[0];
    if (!sole_reader(k, static_cast<int>(r))) continue;
    Op op = net.nodes[k].op;
    if (const ConvProgram* conv = std::get_if<ConvProgram>(&op)) {
      op = FusedConv{*conv, false, true};
    } else if (BatchNorm* bn = std::get_if<BatchNorm>(&op); bn && !bn->relu) {
      bn->relu = true;
    } else {
      continue;
    }
    Node fused = std::move(net.nodes[k]);
    fused.op = std::move(op);
    edits[k].replacement = std::move(fused);
    edits[r] = {true, k, std::nullopt};
  }
  return rewrite(std::move(net), std::move(edits));
}

}  // namespace nasx
