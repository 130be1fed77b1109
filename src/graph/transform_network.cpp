#include "graph/transform_network.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "graph/zoo.h"
#include "support/hash.h"
#include "support/text.h"
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
                     "it is itself transformed; apply the channel change first"};
  if (in_channels % s.groups)
    return Rejection{RejectKind::NotDivisible, what,
                     "its " + std::to_string(s.groups) + " groups do not divide " +
                         std::to_string(in_channels) + " input channels"};
  ConvProgram q = p;
  q.in_channels = in_channels;
  q.statements[0].ci_per_group = in_channels / s.groups;
  q.verify();
  return q;
}

Tensor filled(int64_t n, float v) {
  Tensor t({n});
  std::fill(t.data.begin(), t.data.end(), v);
  return t;
}

}  // namespace

void transform_layers(Network& net, const std::vector<std::string>& layers,
                      const NeuralSequence& sequence, uint64_t seed) {
  std::string seq_text = print_sequence(sequence);
  Network updated = net;  // all or nothing: `net` changes only at the end
  std::set<int> transformed;
  std::vector<int> channel_changed;
  for (const std::string& layer : layers) {
    int index = net.find(layer);
    NASX_USER_CHECK(index >= 0, "no layer '", layer, "' in ", net.name, " (nasx show ", net.name,
                    " lists the layers)");
    const ConvProgram* program = std::get_if<ConvProgram>(&net.nodes[index].op);
    NASX_USER_CHECK(program, "layer ", layer, " is a ", op_name(net.nodes[index].op),
                    "; neural transformations apply to convolutions");
    Expected<ConvProgram> result = apply_sequence(sequence, *program);
    if (!result.ok())
      throw TransformError(result.rejection().kind, layer,
                           "layer " + layer + ": " + result.rejection().to_string());
    if (result.value().out_channels != program->out_channels) channel_changed.push_back(index);
    updated.nodes[index].op = result.value();
    transformed.insert(index);
  }

  // Coupled channels change only together: every producer of a touched class is transformed.
  ChannelCoupling coupling = analyze_channel_coupling(net);
  std::set<int> touched;
  for (int k : channel_changed) touched.insert(coupling.class_of[k]);
  for (int cls : touched) {
    if (coupling.class_is_free[cls]) continue;
    std::vector<std::string> missing;
    for (size_t i = 0; i < net.nodes.size(); ++i)
      if (coupling.class_of[i] == cls && std::holds_alternative<ConvProgram>(net.nodes[i].op) &&
          !transformed.count(static_cast<int>(i)))
        missing.push_back(net.nodes[i].name);
    if (missing.empty()) continue;
    int k = *std::find_if(channel_changed.begin(), channel_changed.end(),
                          [&](int c) { return coupling.class_of[c] == cls; });
    std::string list;
    for (size_t m = 0; m < missing.size() && m < 6; ++m) list += (m ? ", " : "") + missing[m];
    if (missing.size() > 6) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw TransformError(
        RejectKind::CoupledChannels, net.nodes[k].name,
        detail::concat(
            "layer ", net.nodes[k].name, ": ", seq_text, " changes its ",
            std::get<ConvProgram>(net.nodes[k].op).out_channels, " output channels, which are ",
            coupling.class_why[cls],
            " (a residual add or concat ties them to other layers); transform every coupled "
            "layer together (also ",
            list, "), or choose a free dimension such as a block's inner width"));
  }

  // Let the change flow forward: adapt every node whose inputs no longer match it.
  std::set<int> reinit(transformed.begin(), transformed.end());
  if (!channel_changed.empty()) {
    std::vector<Shape> shapes(updated.nodes.size());
    for (size_t i = 0; i < updated.nodes.size(); ++i) {
      Node& n = updated.nodes[i];
      std::vector<Shape> in = updated.input_shapes(i, shapes, 1);
      auto adapt_error = [&](const std::string& why, RejectKind kind = RejectKind::Unsupported) {
        throw TransformError(
            kind, n.name,
            detail::concat("layers ", layers.front(), layers.size() > 1 ? " and others" : "", ": ",
                           seq_text, " changes the channels read by ", n.name, " (", op_name(n.op),
                           "): ", why));
      };
      if (auto* bn = std::get_if<BatchNorm>(&n.op); bn && bn->channels != in[0][1]) {
        bn->channels = in[0][1];
        n.params = {filled(bn->channels, 1), filled(bn->channels, 0), filled(bn->channels, 0),
                    filled(bn->channels, 1)};
      } else if (auto* cat = std::get_if<Concat>(&n.op)) {
        for (size_t k = 0; k < in.size(); ++k) cat->channels[k] = in[k][1];
      } else if (auto* conv = std::get_if<ConvProgram>(&n.op);
                 conv && conv->in_channels != in[0][1]) {
        Expected<ConvProgram> q = with_input_channels(*conv, in[0][1], seq_text);
        if (!q.ok()) adapt_error(q.rejection().message, q.rejection().kind);
        n.op = q.value();
        reinit.insert(static_cast<int>(i));
      } else if (auto* fc = std::get_if<Linear>(&n.op); fc && fc->in_features != in[0][1]) {
        fc->in_features = in[0][1];
        float bound = float(1.0 / std::sqrt(double(fc->in_features)));
        n.params[0] = Tensor::random_uniform({fc->out_features, fc->in_features},
                                             Hasher().add(std::to_string(seed)).add(n.name).low(),
                                             -bound, bound);
      }
      try {
        shapes[i] = infer_shape(n.op, in);
      } catch (const UserError& e) {
        adapt_error(e.what());
      }
    }
  }
  for (int k : reinit) initialize_conv(updated.nodes[k], net.family, seed);
  updated.infer_shapes(1);  // every shape and parameter agrees
  net = std::move(updated);
}

std::vector<std::string> match_conv_layers(const Network& net, const std::string& patterns) {
  std::vector<std::string> out;
  // An empty list, or an empty pattern in it, names nothing: an error, not zero layers (before:
  // `--layers ""` searched no unit and reported a speedup).
  NASX_USER_CHECK(patterns.find_first_not_of(" \t,") != std::string::npos,
                  "no layer pattern given ('", patterns,
                  "'): name layers or globs, e.g. 'layer3.*' "
                  "(nasx show ",
                  net.name, " lists them)");
  for (std::string glob : split(patterns, ',')) {
    glob = trim(glob);
    NASX_USER_CHECK(!glob.empty(), "an empty layer pattern in '", patterns,
                    "' (a doubled or trailing comma?)");
    size_t before = out.size();
    std::string others;
    for (const Node& n : net.nodes) {
      if (fnmatch(glob.c_str(), n.name.c_str(), 0) != 0) continue;
      if (std::holds_alternative<ConvProgram>(n.op)) {
        if (std::find(out.begin(), out.end(), n.name) == out.end()) out.push_back(n.name);
      } else if (others.size() < 200) {
        others += (others.empty() ? "" : ", ") + n.name + " is a " + op_name(n.op);
      }
    }
    NASX_USER_CHECK(out.size() > before, "no convolution layer of ", net.name, " matches '", glob,
                    "'",
                    others.empty() ? ""
                                   : " (" + others +
                                         "; neural transformations apply to "
                                         "convolutions)",
                    "; nasx show ", net.name, " lists the layers");
  }
  // Network order, whatever the order of the patterns.
  std::vector<std::string> ordered;
  for (const Node& n : net.nodes)
    if (std::find(out.begin(), out.end(), n.name) != out.end()) ordered.push_back(n.name);
  return ordered;
}

}  // namespace nasx
