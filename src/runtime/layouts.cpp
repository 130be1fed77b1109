#include "runtime/layouts.h"

#include <algorithm>
#include <cstring>

#include "lower/conv_blocked.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

using ir::Layout;

bool blocked(const Layout& l, int lanes) {
  return l.block_dim == 1 && l.block == lanes;
}

// The output layout of a node given its inputs' layouts (halo added later, from consumers).
Layout output_layout(const Op& op, const std::vector<Layout>& in, const Shape& out, int lanes) {
  if (lanes <= 0 || out.size() != 4 || out[1] % lanes != 0) return {};
  Layout want = Layout::blocked(1, lanes);
  if (conv_program_of(op)) {
    std::vector<Layout> with_output = in;
    with_output.push_back(want);
    return blocked_conv(op, with_output, lanes) ? want : Layout{};
  }
  if (std::holds_alternative<GlobalAvgPool>(op) || std::holds_alternative<Flatten>(op) ||
      std::holds_alternative<Linear>(op))
    return {};
  bool all = !in.empty() &&
             std::all_of(in.begin(), in.end(), [&](const Layout& l) { return blocked(l, lanes); });
  return all ? want : Layout{};
}

Layout with_halo(Layout l, int64_t halo) {
  if (halo > 0) {
    l.halo_dim = 2;
    l.halo = halo;
  }
  return l;
}

}  // namespace

bool blocked_conv(const Op& op, const std::vector<Layout>& layouts, int lanes) {
  const ConvProgram* p = conv_program_of(op);
  if (!p || layouts.size() < 2) return false;
  // The residual (a FusedConv's second input) must be blocked like the output.
  const Layout& residual = layouts.size() > 2 ? layouts[1] : layouts.back();
  for (size_t s = 0; s < p->statements.size(); ++s)
    if (!conv_blocked_applies(*p, s, lanes, layouts[0], layouts.back(), residual)) return false;
  return true;
}

NetworkLayouts assign_layouts(const Network& net, const std::vector<Shape>& shapes, int lanes) {
  size_t n = net.nodes.size();
  // Halo each tensor needs: the widest padding of the convolutions reading it.
  std::vector<int64_t> halo(n, 0);
  int64_t input_halo = 0;
  if (lanes > 0)
    for (const Node& node : net.nodes)
      if (const ConvProgram* p = conv_program_of(node.op)) {
        int k = node.inputs[0];
        (k == kNetworkInput ? input_halo : halo[k]) =
            std::max(k == kNetworkInput ? input_halo : halo[k], conv_halo(*p));
      }
  NetworkLayouts out;
  out.input = with_halo(Layout{}, input_halo);
  out.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<Layout> in = net.inputs_of(i, out.input, out.nodes);
    out.nodes[i] = with_halo(output_layout(net.nodes[i].op, in, shapes[i], lanes), halo[i]);
  }
  // The network's output is handed to the caller as it is: plain.
  out.nodes[n - 1] = Layout{};
  return out;
}

std::vector<Layout> op_layouts(const Op& op, const std::vector<Shape>& inputs, int lanes) {
  std::vector<Layout> all_plain(inputs.size() + 1);
  const ConvProgram* p = conv_program_of(op);
  if (!p || lanes <= 0) return all_plain;
  std::vector<Layout> in;
  Layout first = inputs[0][1] % lanes == 0 ? Layout::blocked(1, lanes) : Layout{};
  in.push_back(with_halo(first, conv_halo(*p)));
  if (inputs.size() > 1) in.push_back(Layout::blocked(1, lanes));
  Shape out = infer_shape(op, inputs);
  Layout o = output_layout(op, in, out, lanes);
  if (o.plain()) return all_plain;
  in.push_back(o);
  return in;
}

void pack_activation(const float* src, float* dst, const Shape& s, const Layout& l) {
  int64_t lanes = l.block_dim >= 0 ? l.block : 1;  // consecutive x lie this far apart
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t y = 0; y < s[2]; ++y) {
        float* d = dst + l.offset(s, {n, c, y, 0});
        const float* r = src + ((n * s[1] + c) * s[2] + y) * s[3];
        for (int64_t x = 0; x < s[3]; ++x) d[x * lanes] = r[x];
      }
}

void zero_halo(float* data, const Shape& s, const Layout& l) {
  if (l.halo == 0) return;
  std::vector<int64_t> p = l.physical_shape(s);
  int64_t lanes = l.block_dim >= 0 ? l.block : 1;
  int64_t planes = p[0] * p[1], hp = p[2], wp = p[3], h = l.halo;
  int64_t row = wp * lanes;
  for (int64_t pl = 0; pl < planes; ++pl) {
    float* plane = data + pl * hp * row;
    std::memset(plane, 0, h * row * sizeof(float));                   // top rows
    std::memset(plane + (hp - h) * row, 0, h * row * sizeof(float));  // bottom rows
    for (int64_t y = h; y < hp - h; ++y) {
      std::memset(plane + y * row, 0, h * lanes * sizeof(float));
      std::memset(plane + y * row + (wp - h) * lanes, 0, h * lanes * sizeof(float));
    }
  }
}

}  // namespace nasx
