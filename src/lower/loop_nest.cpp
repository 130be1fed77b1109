#include "lower/loop_nest.h"

#include "lower/conv_blocked.h"
#include "lower/conv_gemm.h"
#include "lower/pipeline.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "support/error.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

using ir::Allocate;
using ir::Block;
using ir::Buffer;
using ir::Call;
using ir::Expr;
using ir::f32;
using ir::For;
using ir::ForKind;
using ir::IfThenElse;
using ir::Layout;
using ir::LetStmt;
using ir::Load;
using ir::make_buffer;
using ir::max;
using ir::min;
using ir::Stmt;
using ir::Store;
using ir::Type;
using ir::Var;

constexpr int64_t kChunk = 4096;           // elements per parallel task in elementwise kernels
constexpr int64_t kMaxUnrolledKernel = 7;  // conv windows up to 7x7 are unrolled

Expr var(const char* name) {
  return Var::make(name);
}
Expr fvar(const char* name) {
  return Var::make(name, Type::f32());
}
Stmt loop(const Expr& v, Expr mn, Expr extent, Stmt body, ForKind k = ForKind::Serial) {
  return For::make(v, std::move(mn), std::move(extent), k, std::move(body));
}
// ceil(a / b) with floor division, b > 0.
Expr ceil_div(Expr a, int64_t b) {
  return (a + (b - 1)) / b;
}

struct Builder {
  const std::vector<Shape>& in;
  Shape out_shape;
  std::vector<Buffer> inputs, params;
  Buffer output;
  const LowerOptions& options;
  std::vector<ParamPacking> packing;
  std::vector<std::string> templates;
  bool plain = true;  // every argument in the plain layout

  // The lanes of the blocked layout the loops should follow: the output's, else the first
  // input's; 0 when neither is blocked.
  int64_t follow_lanes(const Shape& s) const {
    for (const Buffer& b : {output, inputs.empty() ? output : inputs[0]})
      if (b->layout.block_dim == 1 && b->shape.size() == 4 && s[1] % b->layout.block == 0)
        return b->layout.block;
    return 0;
  }

  // Over 4-D activations in any layout: for n, c, y, x. Over a blocked layout the channel runs
  // as (block, lane) with the lane innermost and vectorized, in memory order.
  Stmt for_nchw(const Shape& s, const std::function<Stmt(Expr, Expr, Expr, Expr)>& body) {
    Expr n = var("n"), y = var("y"), x = var("x");
    if (int64_t lanes = follow_lanes(s)) {
      Expr ncb = var("n_cb"), cb = var("cb"), lane = var("lane");
      Stmt inner = loop(lane, 0, lanes, body(n, cb * lanes + lane, y, x), ForKind::Vectorized);
      inner = loop(y, 0, s[2], loop(x, 0, s[3], inner));
      int64_t blocks = s[1] / lanes;
      inner = LetStmt::make(cb, ncb % blocks, LetStmt::make(n, ncb / blocks, inner));
      return loop(ncb, 0, s[0] * blocks, inner, ForKind::Parallel);
    }
    Expr nc = var("n_c"), c = var("c");
    Stmt inner = loop(y, 0, s[2], loop(x, 0, s[3], body(n, c, y, x), ForKind::Vectorized));
    inner = LetStmt::make(c, nc % s[1], LetStmt::make(n, nc / s[1], inner));
    return loop(nc, 0, s[0] * s[1], inner, ForKind::Parallel);
  }

  // Elementwise over flat buffers of `count` elements: parallel chunks, vectorized inside.
  Stmt elementwise(int64_t count, const std::function<Expr(const Expr&)>& value) {
    Expr o = var("chunk"), i = var("i");
    Expr start = o * kChunk;
    Stmt inner = loop(i, start, min(Expr(kChunk), Expr(count) - start),
                      Store::make(output, {i}, value(i)), ForKind::Vectorized);
    return loop(o, 0, (count + kChunk - 1) / kChunk, inner, ForKind::Parallel);
  }

  // The convolution; with an epilogue, each finished output row gets + residual and max(., 0)
  // while it is still in L1.
  Stmt conv(const ConvProgram& p, bool residual = false, bool relu = false) {
    int64_t batch = in[0][0];
    std::vector<Stmt> nests;
    ConvBuffers cb{inputs[0], output, residual ? inputs[1] : nullptr,
                   p.bias ? params.back() : nullptr,
                   std::vector<Buffer>(params.begin(), params.begin() + p.statements.size())};
    const int lanes = options.target.lanes;
    NASX_USER_CHECK(options.knobs.empty() || options.knobs.size() == p.statements.size(),
                    "knobs for ", options.knobs.size(), " statements given to a convolution with ",
                    p.statements.size());
    for (size_t si = 0; si < p.statements.size(); ++si) {
      const ConvStatement& s = p.statements[si];
      if (conv_blocked_applies(p, si, lanes, inputs[0]->layout, output->layout,
                               residual ? inputs[1]->layout : output->layout)) {
        ConvKnobs k = si < options.knobs.size() ? options.knobs[si]
                                                : default_conv_knobs(p, si, options.target);
        if (si < options.knobs.size()) check_conv_knobs(p, si, options.target, k);
        params[si] = cb.weights[si] = conv_blocked_weight(p, si, lanes, &packing[si]);
        templates.push_back("blocked " + k.to_string());
        nests.push_back(lower_conv_blocked(p, si, batch, cb, relu, lanes, k));
        continue;
      }
      if (conv_gemm_applies(s)) {
        templates.push_back("gemm");
        nests.push_back(lower_conv_gemm(p, si, batch, cb, relu));
        continue;
      }
      templates.push_back("direct");
      const Buffer& w = params[si];
      Expr nco = var("n_co"), n = var("n"), co = var("co"), y = var("y"), x = var("x");
      Expr ci = var("ci"), ky = var("ky"), kx = var("kx"), c_in = var("c_in"), iy = var("iy");
      Expr wv = fvar("w"), x_lo = var("x_lo"), x_hi = var("x_hi");
      int64_t cos = s.out_channels();

      Expr init_value = p.bias ? Load::make(params.back(), {co}) : f32(0);
      Stmt init =
          loop(x, 0, p.out_w, Store::make(output, {n, co, y, x}, init_value), ForKind::Vectorized);

      Expr ix = x * p.stride + kx * p.dilation + s.col_offset;
      Expr acc = Load::make(output, {n, co, y, x}) + wv * Load::make(inputs[0], {n, c_in, iy, ix});
      Stmt row =
          loop(x, x_lo, x_hi - x_lo, Store::make(output, {n, co, y, x}, acc), ForKind::Vectorized);
      // Valid x for this kx: 0 <= stride*x + dilation*kx + col_offset < W.
      Expr lo = max(Expr(0), ceil_div(Expr(0) - kx * p.dilation - s.col_offset, p.stride));
      Expr hi =
          min(Expr(p.out_w), (Expr(p.in_w - 1) - kx * p.dilation - s.col_offset) / p.stride + 1);
      row = LetStmt::make(x_lo, lo, LetStmt::make(x_hi, max(hi, x_lo), row));
      row = LetStmt::make(wv, Load::make(w, {co - s.co_begin, ci, ky, kx}), row);
      // Small kernels are unrolled, so that each copy's x bounds fold to constants.
      ForKind window_kind = p.kernel <= kMaxUnrolledKernel ? ForKind::Unrolled : ForKind::Serial;
      Stmt kx_loop = loop(kx, 0, p.kernel, row, window_kind);
      Stmt ky_body = IfThenElse::make(Expr(s.row_begin) <= iy && iy < Expr(s.row_end), kx_loop);
      ky_body = LetStmt::make(iy, y * p.stride + ky * p.dilation + s.row_offset, ky_body);
      Stmt ci_body =
          LetStmt::make(c_in, s.input_channel(co, ci), loop(ky, 0, p.kernel, ky_body, window_kind));
      std::vector<Stmt> y_steps{init, loop(ci, 0, s.ci_per_group, ci_body)};
      if (residual || relu) {
        Expr v = Load::make(output, {n, co, y, x});
        if (residual) v = v + Load::make(inputs[1], {n, co, y, x});
        if (relu) v = max(v, f32(0));
        y_steps.push_back(
            loop(x, 0, p.out_w, Store::make(output, {n, co, y, x}, v), ForKind::Vectorized));
      }
      Stmt y_body = Block::make(std::move(y_steps));
      Stmt body = loop(y, s.y_begin, s.y_end - s.y_begin, y_body);
      body = LetStmt::make(co, Expr(s.co_begin) + nco % cos, body);
      body = LetStmt::make(n, nco / cos, body);
      nests.push_back(loop(nco, 0, batch * cos, body, ForKind::Parallel));
    }
    return Block::make(std::move(nests));
  }

  Stmt batch_norm(const BatchNorm& b) {
    const Shape& s = in[0];
    if (!plain)
      return for_nchw(s, [&](Expr n, Expr c, Expr y, Expr x) {
        Expr scale = Load::make(params[0], {c}) /
                     Call::make(Type::f32(), "sqrtf", {Load::make(params[3], {c}) + f32(b.eps)});
        Expr shift = Load::make(params[1], {c}) - Load::make(params[2], {c}) * scale;
        Expr value = Load::make(inputs[0], {n, c, y, x}) * scale + shift;
        return Store::make(output, {n, c, y, x}, b.relu ? max(value, f32(0)) : value);
      });
    Expr nc = var("n_c"), n = var("n"), c = var("c"), y = var("y"), x = var("x");
    Expr scale = fvar("scale"), shift = fvar("shift");
    Expr value = Load::make(inputs[0], {n, c, y, x}) * scale + shift;
    if (b.relu) value = max(value, f32(0));
    Stmt inner = loop(x, 0, s[3], Store::make(output, {n, c, y, x}, value), ForKind::Vectorized);
    Stmt body = loop(y, 0, s[2], inner);
    Expr sc = Load::make(params[0], {c}) /
              Call::make(Type::f32(), "sqrtf", {Load::make(params[3], {c}) + f32(b.eps)});
    body =
        LetStmt::make(shift, Load::make(params[1], {c}) - Load::make(params[2], {c}) * scale, body);
    body = LetStmt::make(scale, sc, body);
    body = LetStmt::make(c, nc % s[1], LetStmt::make(n, nc / s[1], body));
    return loop(nc, 0, s[0] * s[1], body, ForKind::Parallel);
  }

  Stmt concat(const Concat& c) {
    if (!plain) {
      std::vector<Stmt> parts;
      int64_t offset = 0;
      for (size_t k = 0; k < inputs.size(); ++k) {
        parts.push_back(for_nchw(in[k], [&](Expr n, Expr ch, Expr y, Expr x) {
          return Store::make(output, {n, ch + offset, y, x}, Load::make(inputs[k], {n, ch, y, x}));
        }));
        offset += c.channels[k];
      }
      return Block::make(std::move(parts));
    }
    std::vector<Stmt> parts;
    int64_t offset = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Shape& s = in[k];
      Expr nc = var("n_c"), n = var("n"), ch = var("c"), i = var("i");
      Stmt inner = loop(i, 0, s[2] * s[3],
                        Store::make(output, {n, ch + offset, i}, Load::make(inputs[k], {n, ch, i})),
                        ForKind::Vectorized);
      Stmt body = LetStmt::make(ch, nc % s[1], LetStmt::make(n, nc / s[1], inner));
      parts.push_back(loop(nc, 0, s[0] * s[1], body, ForKind::Parallel));
      offset += c.channels[k];
    }
    return Block::make(std::move(parts));
  }

  // Max or average pooling. The ky/kx ranges are clipped to the input, so no guard is needed;
  // max pooling's padding is -inf and thus never selected, average pooling divides by K*K. Over
  // a blocked layout every statement runs over the block's lanes, innermost and vectorized, so
  // each window tap reads one contiguous vector (before: channel by channel, a stride of the
  // lanes between neighbours: resnet50's max pooling took 3 ms, OpenVINO's 0.09 ms).
  Stmt pool(int64_t kernel, int64_t stride, int64_t pad, bool is_max) {
    const Shape& s = in[0];
    const int64_t lanes = follow_lanes(s);
    Expr n = var("n"), y = var("y"), x = var("x"), ky = var("ky"), kx = var("kx");
    Expr ncb = var(lanes ? "n_cb" : "n_c"), cb = var("cb"), lane = var("lane");
    Expr c = lanes ? cb * lanes + lane : cb;
    auto over_lanes = [&](Stmt body) {
      return lanes ? loop(lane, 0, lanes, std::move(body), ForKind::Vectorized) : body;
    };
    Expr iy = y * stride + ky - pad, ix = x * stride + kx - pad;
    Expr cur = Load::make(output, {n, c, y, x}), v = Load::make(inputs[0], {n, c, iy, ix});
    Stmt update = over_lanes(Store::make(output, {n, c, y, x}, is_max ? max(cur, v) : cur + v));
    auto range = [&](const Expr& k, const Expr& pos, int64_t size, Stmt body) {
      Expr lo = max(Expr(0), Expr(pad) - pos * stride);
      Expr hi = min(Expr(kernel), Expr(size + pad) - pos * stride);
      return loop(k, lo, hi - lo, std::move(body));
    };
    Stmt window = range(ky, y, s[2], range(kx, x, s[3], update));
    float init = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
    std::vector<Stmt> steps{over_lanes(Store::make(output, {n, c, y, x}, f32(init))), window};
    if (!is_max)
      steps.push_back(
          over_lanes(Store::make(output, {n, c, y, x}, cur * f32(1.0 / double(kernel * kernel)))));
    Stmt body = loop(y, 0, out_shape[2], loop(x, 0, out_shape[3], Block::make(steps)));
    int64_t blocks = lanes ? s[1] / lanes : s[1];
    body = LetStmt::make(cb, ncb % blocks, LetStmt::make(n, ncb / blocks, body));
    return loop(ncb, 0, s[0] * blocks, body, ForKind::Parallel);
  }

  Stmt global_avg_pool() {
    const Shape& s = in[0];
    if (!plain) {
      // Sums in the output (plain [N*C]), read in the input's memory order.
      Stmt zero = for_nchw({s[0], s[1], 1, 1}, [&](Expr n, Expr c, Expr, Expr) {
        return Store::make(output, {n * s[1] + c}, f32(0));
      });
      Stmt sum = for_nchw(s, [&](Expr n, Expr c, Expr y, Expr x) {
        Expr at = n * s[1] + c;
        return Store::make(output, {at},
                           Load::make(output, {at}) + Load::make(inputs[0], {n, c, y, x}));
      });
      Stmt scale = for_nchw({s[0], s[1], 1, 1}, [&](Expr n, Expr c, Expr, Expr) {
        Expr at = n * s[1] + c;
        return Store::make(output, {at}, Load::make(output, {at}) * f32(1.0 / double(s[2] * s[3])));
      });
      return Block::make({zero, sum, scale});
    }
    Expr nc = var("n_c"), i = var("i");
    Expr cur = Load::make(output, {nc});
    Stmt sum =
        loop(i, 0, s[2] * s[3], Store::make(output, {nc}, cur + Load::make(inputs[0], {nc, i})));
    Stmt body = Block::make({Store::make(output, {nc}, f32(0)), sum,
                             Store::make(output, {nc}, cur * f32(1.0 / double(s[2] * s[3])))});
    return loop(nc, 0, s[0] * s[1], body, ForKind::Parallel);
  }

  // out[n, o] = bias[o] + sum_i W[o, i] x[n, i]. With vectors, each dot product keeps one
  // vector of partial sums over contiguous runs of i (before: one scalar sum through memory,
  // 1.3-1.8 ms for resnet50's 2048 x 1000 layer, OpenVINO's 0.26 ms).
  Stmt linear(const Linear& l) {
    Expr o = var("o"), n = var("n"), i = var("i");
    Expr cur = Load::make(output, {n, o});
    Expr init = l.bias ? Load::make(params[1], {o}) : f32(0);
    const int64_t lanes = options.target.lanes;
    auto term = [&](const Expr& at) {
      return Load::make(params[0], {o, at}) * Load::make(inputs[0], {n, at});
    };
    if (lanes < 2 || l.in_features < lanes) {
      Stmt dot = loop(i, 0, l.in_features, Store::make(output, {n, o}, cur + term(i)));
      Stmt body = loop(n, 0, in[0][0], Block::make({Store::make(output, {n, o}, init), dot}));
      return loop(o, 0, l.out_features, body, ForKind::Parallel);
    }
    Buffer acc = make_buffer("acc", {lanes});
    Expr io = var("io"), lane = var("lane");
    const int64_t full = l.in_features / lanes * lanes;
    Stmt zero = loop(lane, 0, lanes, Store::make(acc, {lane}, f32(0)), ForKind::Vectorized);
    Expr at = io * lanes + lane;
    Stmt step = loop(lane, 0, lanes, Store::make(acc, {lane}, Load::make(acc, {lane}) + term(at)),
                     ForKind::Vectorized);
    std::vector<Stmt> parts{
        zero, loop(io, 0, full / lanes, step), Store::make(output, {n, o}, init),
        loop(lane, 0, lanes, Store::make(output, {n, o}, cur + Load::make(acc, {lane})))};
    if (full < l.in_features)
      parts.push_back(
          loop(i, full, l.in_features - full, Store::make(output, {n, o}, cur + term(i))));
    Stmt body = loop(n, 0, in[0][0], Allocate::make(acc, Block::make(parts)));
    return loop(o, 0, l.out_features, body, ForKind::Parallel);
  }
};

// Buffer shapes as the loops index them: elementwise kernels see flat buffers, concat sees
// [N, C, H*W], global pooling [N*C, H*W]; the rest see the activation's own shape.
Shape view(const Op& op, const Shape& s) {
  if (std::holds_alternative<Relu>(op) || std::holds_alternative<ResidualAdd>(op) ||
      std::holds_alternative<Flatten>(op))
    return {num_elements(s)};
  if (std::holds_alternative<Concat>(op)) return {s[0], s[1], s[2] * s[3]};
  if (std::holds_alternative<GlobalAvgPool>(op)) return {s[0] * s[1], s[2] * s[3]};
  return s;
}

}  // namespace

LoweredKernel build_loop_nest(const Op& op, const std::vector<Shape>& inputs,
                              const std::string& name, const LowerOptions& options) {
  Shape out = infer_shape(op, inputs);
  Builder b{inputs, out, {}, {}, nullptr, options, {}, {}};
  const std::vector<Layout>& layouts = options.layouts;
  NASX_ASSERT(layouts.empty() || layouts.size() == inputs.size() + 1, "layouts of ", op_name(op),
              ": ", layouts.size(), " for ", inputs.size(), " inputs and the output");
  for (const Layout& l : layouts) b.plain = b.plain && l.plain();
  // Elementwise kernels over operands of one layout run over the physical elements.
  bool same = std::all_of(layouts.begin(), layouts.end(),
                          [&](const Layout& l) { return l == layouts.front(); });
  bool flat = std::holds_alternative<Relu>(op) || std::holds_alternative<ResidualAdd>(op);
  auto layout_of = [&](size_t i) { return layouts.empty() ? Layout{} : layouts[i]; };
  bool physical_flat = flat && same && !b.plain;
  auto shape_of = [&](size_t i, const Shape& s) {
    if (physical_flat) return Shape{layout_of(i).physical_size(s)};
    return b.plain ? view(op, s) : s;
  };
  auto layout_in_kernel = [&](size_t i) {
    return b.plain || physical_flat ? Layout{} : layout_of(i);
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    b.inputs.push_back(make_buffer("in" + std::to_string(i), shape_of(i, inputs[i]), Type::f32(),
                                   layout_in_kernel(i)));
  for (const ParamSpec& p : param_specs(op)) b.params.push_back(make_buffer(p.name, p.shape));
  b.packing.resize(b.params.size());
  Shape out_view = std::holds_alternative<GlobalAvgPool>(op) ? Shape{out[0] * out[1]}
                   : std::holds_alternative<Flatten>(op)     ? Shape{num_elements(out)}
                                                             : shape_of(inputs.size(), out);
  b.output =
      make_buffer("out", out_view, Type::f32(),
                  out_view.size() == out.size() ? layout_in_kernel(inputs.size()) : Layout{});
  if (physical_flat) b.plain = true;  // from here on: the builders index the (flat) views

  Stmt body = std::visit(
      Overloaded{
          [&](const ConvProgram& p) { return b.conv(p); },
          [&](const FusedConv& f) { return b.conv(f.program, f.residual, f.relu); },
          [&](const BatchNorm& bn) { return b.batch_norm(bn); },
          [&](const Relu&) {
            if (!b.plain)
              return b.for_nchw(out, [&](Expr n, Expr c, Expr y, Expr x) {
                return Store::make(b.output, {n, c, y, x},
                                   max(Load::make(b.inputs[0], {n, c, y, x}), f32(0)));
              });
            return b.elementwise(b.output->shape[0], [&](const Expr& i) {
              return max(Load::make(b.inputs[0], {i}), f32(0));
            });
          },
          [&](const ResidualAdd&) {
            if (!b.plain)
              return b.for_nchw(out, [&](Expr n, Expr c, Expr y, Expr x) {
                return Store::make(
                    b.output, {n, c, y, x},
                    Load::make(b.inputs[0], {n, c, y, x}) + Load::make(b.inputs[1], {n, c, y, x}));
              });
            return b.elementwise(b.output->shape[0], [&](const Expr& i) {
              return Load::make(b.inputs[0], {i}) + Load::make(b.inputs[1], {i});
            });
          },
          [&](const Concat& c) { return b.concat(c); },
          [&](const MaxPool& m) { return b.pool(m.kernel, m.stride, m.pad, true); },
          [&](const AvgPool& a) { return b.pool(a.kernel, a.stride, a.pad, false); },
          [&](const GlobalAvgPool&) { return b.global_avg_pool(); },
          [&](const Linear& l) { return b.linear(l); },
          [&](const Flatten&) {
            if (!b.plain) {
              const Shape& s = inputs[0];
              return b.for_nchw(s, [&](Expr n, Expr c, Expr y, Expr x) {
                return Store::make(b.output, {((n * s[1] + c) * s[2] + y) * s[3] + x},
                                   Load::make(b.inputs[0], {n, c, y, x}));
              });
            }
            return b.elementwise(num_elements(out),
                                 [&](const Expr& i) { return Load::make(b.inputs[0], {i}); });
          },
      },
      op);

  LoweredKernel k;
  k.name = name;
  k.args = b.inputs;
  k.args.insert(k.args.end(), b.params.begin(), b.params.end());
  k.args.push_back(b.output);
  k.packing = b.packing;
  k.templates = b.templates;
  k.body = body;
  return k;
}

}  // namespace nasx
