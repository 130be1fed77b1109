#include "graph/fold_batch_norm.h"

#include <cmath>

#include "graph/rewrite.h"

namespace nasx {

Network fold_batch_norm(Network net) {
  std::vector<NodeEdit> edits(net.nodes.size());
  auto readers = consumers(net);
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& bn_node = net.nodes[i];
    const BatchNorm* bn = std::get_if<BatchNorm>(&bn_node.op);
    if (!bn || bn->relu || bn_node.inputs[0] == kNetworkInput) continue;
    int c = bn_node.inputs[0];
    const ConvProgram* conv = std::get_if<ConvProgram>(&net.nodes[c].op);
    if (!conv || readers[c].size() != 1) continue;

    const Tensor &gamma = bn_node.params[0], &beta = bn_node.params[1];
    const Tensor &mean = bn_node.params[2], &var = bn_node.params[3];
    ConvProgram p = *conv;  // before the move below: conv points into the node
    Node folded = std::move(net.nodes[c]);
    Tensor bias({p.out_channels});
    if (p.bias) bias = folded.params.back();
    std::vector<double> scale(p.out_channels);
    for (int64_t co = 0; co < p.out_channels; ++co) {
      scale[co] = gamma.data[co] / std::sqrt(double(var.data[co]) + bn->eps);
      bias.data[co] = float((bias.data[co] - mean.data[co]) * scale[co] + beta.data[co]);
    }
    for (size_t s = 0; s < p.statements.size(); ++s) {
      const ConvStatement& st = p.statements[s];
      Tensor& w = folded.params[s];
      int64_t per_channel = w.size() / st.out_channels();
      for (int64_t co = st.co_begin; co < st.co_end; ++co)
        for (int64_t k = 0; k < per_channel; ++k)
          w.data[(co - st.co_begin) * per_channel + k] *= float(scale[co]);
    }
    if (!p.bias)
      folded.params.push_back(std::move(bias));
    else
      folded.params.back() = std::move(bias);
    p.bias = true;
    folded.op = p;
    edits[c].replacement = std::move(folded);
    edits[i].drop = true;
    edits[i].alias = c;
  }
  return rewrite(std::move(net), std::move(edits));
}

}  // namespace nasx
