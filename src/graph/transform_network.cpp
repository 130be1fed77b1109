#include "graph/transform_network.h"

#include <fnmatch.h>

#include "graph/zoo.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

// A plain (single-statement, untransformed) convolution reading `in_channels` instead.
Expected<ConvProgram> with_input_channels(const ConvProgram& p, int64_t in_channels,
                                          const std::string& what) {
  const ConvStatement& s = p.statements[0];
  if (p.statements.size() != 1 || s.ci_base != 0 || s.ci_per_group * s.groups != p.in_channels ||
      s.y_begin != 0 || s.y_end != p.out_h)
    return Rejection{RejectKind::Unsupported, what,
                     "its consumer is itself transformed; apply the bottleneck first"};
  if (in_channels % s.groups)
    return Rejection{RejectKind::NotDivisible, what,
                     "its consumer has " + std::to_string(s.groups) +
                         " groups, which do not divide " + std::to_string(in_channels) +
                         " input channels"};
  ConvProgram q = p;
  q.in_channels = in_channels;
  q.statements[0].ci_per_group = in_channels / s.groups;
  q.verify();
  return q;
}

}  // namespace

void transform_layer(Network& net, const std::string& layer, const NeuralSequence& sequence,
                     uint64_t seed) {
  std::string seq_text = print_sequence(sequence);
  int index = net.find(layer);
  NASX_USER_CHECK(index >= 0, "no layer '", layer, "' in ", net.name, " (nasx show ", net.name,
                  " lists the layers)");
  Node& node = net.nodes[index];
  const ConvProgram* program = std::get_if<ConvProgram>(&node.op);
  NASX_USER_CHECK(program, "layer ", layer, " is a ", op_name(node.op),
                  "; neural transformations apply to convolutions");
  Expected<ConvProgram> result = apply_sequence(sequence, *program);
  if (!result.ok()) user_error("layer ", layer, ": ", result.rejection().to_string());
  ConvProgram transformed = result.value();

  Network updated = net;  // all or nothing: commit only when every consumer accepted the change
  std::vector<int> changed{index};
  if (transformed.out_channels != program->out_channels) {
    ChannelCoupling coupling = analyze_channel_coupling(net);
    if (!coupling.free(index))
      user_error("layer ", layer, ": ", seq_text, " changes its ", program->out_channels,
                 " output channels, which are ", coupling.class_why[coupling.class_of[index]],
                 " (a residual add or concat ties them to other layers); transform every "
                 "coupled layer together, or choose a free dimension such as a block's inner "
                 "width");
    int64_t channels = transformed.out_channels;
    auto readers = std::vector<std::vector<int>>(net.nodes.size());
    for (size_t i = 0; i < net.nodes.size(); ++i)
      for (int k : net.nodes[i].inputs)
        if (k != kNetworkInput) readers[k].push_back(static_cast<int>(i));
    std::vector<int> frontier = readers[index];
    while (!frontier.empty()) {
      int k = frontier.back();
      frontier.pop_back();
      Node& consumer = updated.nodes[k];
      if (auto* bn = std::get_if<BatchNorm>(&consumer.op)) {
        bn->channels = channels;
        Tensor one({channels}), zero({channels});
        std::fill(one.data.begin(), one.data.end(), 1.0f);
        consumer.params = {one, zero, zero, one};
      } else if (auto* conv = std::get_if<ConvProgram>(&consumer.op)) {
        Expected<ConvProgram> q = with_input_channels(*conv, channels, seq_text);
        if (!q.ok())
          user_error("layer ", layer, ": ", seq_text, " cannot shrink consumer ", consumer.name,
                     ": ", q.rejection().message);
        consumer.op = q.value();
        changed.push_back(k);
        continue;  // a convolution absorbs the change
      } else if (!std::holds_alternative<Relu>(consumer.op) &&
                 !std::holds_alternative<MaxPool>(consumer.op) &&
                 !std::holds_alternative<AvgPool>(consumer.op)) {
        user_error("layer ", layer, ": ", seq_text, " changes the channels read by ", consumer.name,
                   " (", op_name(consumer.op), "), which cannot follow a channel change");
      }
      frontier.insert(frontier.end(), readers[k].begin(), readers[k].end());
    }
  }
  updated.nodes[index].op = transformed;
  for (int k : changed) initialize_conv(updated.nodes[k], net.family, seed);
  updated.infer_shapes(1);  // every shape still agrees
  net = std::move(updated);
}

std::vector<std::string> match_conv_layers(const Network& net, const std::string& glob) {
  std::vector<std::string> out;
  std::string others;
  for (const Node& n : net.nodes) {
    if (fnmatch(glob.c_str(), n.name.c_str(), 0) != 0) continue;
    if (std::holds_alternative<ConvProgram>(n.op)) {
      out.push_back(n.name);
    } else if (others.size() < 200) {
      others += (others.empty() ? "" : ", ") + n.name + " is a " + op_name(n.op);
    }
  }
  NASX_USER_CHECK(!out.empty(), "no convolution layer of ", net.name, " matches '", glob, "'",
                  others.empty() ? ""
                                 : " (" + others +
                                       "; neural transformations apply to "
                                       "convolutions)",
                  "; nasx show ", net.name, " lists the layers");
  return out;
}

}  // namespace nasx
