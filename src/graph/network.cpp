#include "graph/network.h"

#include <numeric>

#include "support/error.h"

namespace nasx {

Shape Network::input_shape(int64_t batch) const {
  return {batch, input_chw[0], input_chw[1], input_chw[2]};
}

std::vector<Shape> Network::infer_shapes(int64_t batch) const {
  NASX_USER_CHECK(batch > 0, "batch size must be positive, got ", batch);
  NASX_ASSERT(!nodes.empty(), "network ", name, " has no nodes");
  std::vector<Shape> shapes;
  shapes.reserve(nodes.size());
  Shape input = input_shape(batch);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    for (int k : n.inputs)
      NASX_ASSERT(k == kNetworkInput || (k >= 0 && k < static_cast<int>(i)), "node ", n.name,
                  " reads node ", k, ", which does not come before it");
    std::vector<Shape> in = inputs_of(i, input, shapes);
    try {
      shapes.push_back(infer_shape(n.op, in));
    } catch (const UserError& e) {
      user_error("layer ", n.name, ": ", e.what());
    }
    std::vector<ParamSpec> specs = param_specs(n.op);
    NASX_ASSERT(specs.size() == n.params.size(), "layer ", n.name, " holds ", n.params.size(),
                " parameter tensors, its operator needs ", specs.size());
    for (size_t p = 0; p < specs.size(); ++p)
      NASX_ASSERT(specs[p].shape == n.params[p].shape, "layer ", n.name, " parameter ",
                  specs[p].name, " has shape ", shape_string(n.params[p].shape), ", expected ",
                  shape_string(specs[p].shape));
  }
  return shapes;
}

std::vector<Shape> Network::input_shapes(size_t i, const std::vector<Shape>& shapes,
                                         int64_t batch) const {
  return inputs_of(i, input_shape(batch), shapes);
}

int64_t Network::params() const {
  int64_t total = 0;
  for (const Node& n : nodes) total += param_count(n.op);
  return total;
}

int64_t Network::macs(int64_t batch) const {
  std::vector<Shape> shapes = infer_shapes(batch);
  int64_t total = 0;
  for (size_t i = 0; i < nodes.size(); ++i)
    total += op_macs(nodes[i].op, input_shapes(i, shapes, batch));
  return total;
}

int Network::find(const std::string& node_name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == node_name) return static_cast<int>(i);
  return -1;
}

namespace {
struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int root(int x) { return parent[x] == x ? x : parent[x] = root(parent[x]); }
  void unite(int a, int b) { parent[root(a)] = root(b); }
};
}  // namespace

ChannelCoupling analyze_channel_coupling(const Network& net) {
  size_t n = net.nodes.size();
  UnionFind uf(n);
  std::vector<std::string> coupler(n);  // per node: the add/concat that couples it
  for (size_t i = 0; i < n; ++i) {
    const Node& node = net.nodes[i];
    bool channel_preserving =
        std::holds_alternative<BatchNorm>(node.op) || std::holds_alternative<Relu>(node.op) ||
        std::holds_alternative<MaxPool>(node.op) || std::holds_alternative<AvgPool>(node.op) ||
        std::holds_alternative<GlobalAvgPool>(node.op) ||
        std::holds_alternative<ResidualAdd>(node.op) || std::holds_alternative<Concat>(node.op);
    if (!channel_preserving) continue;
    bool couples =
        std::holds_alternative<ResidualAdd>(node.op) || std::holds_alternative<Concat>(node.op);
    for (int k : node.inputs) {
      if (k == kNetworkInput) continue;
      uf.unite(k, static_cast<int>(i));
    }
    if (couples) coupler[i] = op_name(node.op) + " " + node.name;
  }
  ChannelCoupling c;
  c.class_of.resize(n);
  std::vector<int> class_index(n, -1);
  for (size_t i = 0; i < n; ++i) {
    int r = uf.root(static_cast<int>(i));
    if (class_index[r] < 0) {
      class_index[r] = static_cast<int>(c.class_is_free.size());
      c.class_is_free.push_back(true);
      c.class_why.push_back("free");
    }
    c.class_of[i] = class_index[r];
  }
  for (size_t i = 0; i < n; ++i) {
    if (coupler[i].empty()) continue;
    int cls = c.class_of[i];
    if (c.class_is_free[cls]) c.class_why[cls] = "coupled by " + coupler[i];
    c.class_is_free[cls] = false;
  }
  return c;
}

}  // namespace nasx
