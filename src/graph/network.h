// Network: a CNN as a list of operator nodes in execution (topological) order. Each node has a
// name (torchvision's for parameterised layers: conv1, layer1.0.conv1, features.denseblock1...),
// an Op, its inputs (earlier nodes, or kNetworkInput), and its parameter tensors in
// param_specs(op) order. The last node is the network's output. Shapes are inferred, never
// stored, so a transformed program cannot disagree with a stale shape.
#pragma once

#include <string>
#include <vector>

#include "program/ops.h"
#include "support/tensor.h"

namespace nasx {

inline constexpr int kNetworkInput = -1;

struct Node {
  std::string name;
  Op op;
  std::vector<int> inputs;
  std::vector<Tensor> params;
};

struct Network {
  std::string name;
  std::string family;  // resnet, resnext, densenet: decides how new weights are initialised
  Shape input_chw;     // C, H, W of one image
  int64_t num_classes = 0;
  std::vector<Node> nodes;

  Shape input_shape(int64_t batch) const;
  // Output shape of every node at this batch size; checks every node (UserError on mismatch)
  // and that parameters have their declared shapes (InternalError otherwise).
  std::vector<Shape> infer_shapes(int64_t batch) const;
  Shape output_shape(int64_t batch) const { return infer_shapes(batch).back(); }
  // What node i reads: the network input's shape or earlier nodes' output shapes (`shapes`, as
  // infer_shapes gives them, filled at least up to node i).
  std::vector<Shape> input_shapes(size_t i, const std::vector<Shape>& shapes, int64_t batch) const;
  // What node i reads, as any per-node value: `input` for the network input, `values[k]` for node
  // k (values filled at least up to node i). The one place that resolves kNetworkInput.
  template <class T>
  std::vector<T> inputs_of(size_t i, const T& input, const std::vector<T>& values) const {
    std::vector<T> in;
    in.reserve(nodes[i].inputs.size());
    for (int k : nodes[i].inputs) in.push_back(k == kNetworkInput ? input : values[k]);
    return in;
  }
  int64_t params() const;
  int64_t macs(int64_t batch = 1) const;
  int find(const std::string& name) const;  // node index, or -1
};

// Channel coupling: which channel dimensions are tied together, so that changing one forces a
// change of the others. An elementwise operator (batch norm, ReLU, pooling) ties its input and
// output (equal counts); a residual add ties both inputs and its output (equal counts); a concat
// ties its inputs to its output (changing one input's count moves every later channel of the
// concat). A convolution's output starts a new class. A class is free when no add and no concat
// is in it: then a transformation may change that channel count, provided it updates consumers.
struct ChannelCoupling {
  std::vector<int> class_of;           // per node output
  std::vector<bool> class_is_free;     // per class
  std::vector<std::string> class_why;  // per class: "free", or the add/concat that couples it
  bool free(int node) const { return class_is_free[class_of[node]]; }
};
ChannelCoupling analyze_channel_coupling(const Network& net);

}  // namespace nasx
