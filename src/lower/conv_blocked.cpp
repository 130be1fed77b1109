#include "lower/conv_blocked.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "ir/substitute.h"
#include "support/error.h"

namespace nasx {
namespace {

using ir::Allocate;
using ir::Block;
using ir::Broadcast;
using ir::Expr;
using ir::f32;
using ir::For;
using ir::ForKind;
using ir::IfThenElse;
using ir::Layout;
using ir::LetStmt;
using ir::Load;
using ir::Stmt;
using ir::Store;
using ir::Type;
using ir::Var;

enum class Mode { Wide, Packed, Depthwise };

// How one statement maps onto vectors: units of work (a group's tile of oc_v vectors, or one
// vector holding several groups), each reading `span` consecutive input channels.
struct Geometry {
  Mode mode = Mode::Wide;
  int64_t cos = 0, cpo = 0, cpg = 0, span = 0;
  bool check_rows = false;  // the statement's input window is a row tile
  int64_t vw = 0;           // vector width of the computation (divides the layout's lanes)
};

std::optional<Geometry> geometry(const ConvProgram& p, const ConvStatement& s, int lanes) {
  if (lanes <= 0) return std::nullopt;
  Geometry g;
  g.cos = s.out_channels();
  g.cpo = g.cos / s.groups;
  g.cpg = s.ci_per_group;
  g.check_rows = s.row_begin != 0 || s.row_end != p.in_h;
  auto aligned = [&](int64_t w) { return g.cos % w == 0 && s.co_begin % w == 0; };
  if (g.cpg == 1 && g.cpo == 1) {
    if (!aligned(lanes)) return std::nullopt;
    g.mode = Mode::Depthwise;
    g.span = 1;
    g.vw = lanes;
    return g;
  }
  // Groups of whole vectors, using narrower vectors (inside the same blocked layout) when a
  // group has fewer channels than the lanes: no lane computes a zero.
  for (int64_t w = lanes; w >= 4 && w * 4 >= lanes; w /= 2)
    if (g.cpo % w == 0 && aligned(w)) {
      g.mode = Mode::Wide;
      g.span = g.cpg;
      g.vw = w;
      return g;
    }
  if (lanes % g.cpo == 0 && aligned(lanes)) {
    g.mode = Mode::Packed;
    g.span = lanes / g.cpo * g.cpg;
    g.vw = lanes;
    return g;
  }
  return std::nullopt;
}

Expr var(const char* name) {
  return Var::make(name);
}
Stmt loop(const Expr& v, Expr mn, Expr extent, Stmt body, ForKind k = ForKind::Serial) {
  return For::make(v, std::move(mn), std::move(extent), k, std::move(body));
}
int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The reduction's pass sizes besides one pass: whole input-channel blocks that divide the
// span, fewer than the span (none for depthwise statements, which reduce over taps only).
std::vector<int64_t> reduction_passes(const Geometry& g, int lanes) {
  std::vector<int64_t> out;
  if (g.mode == Mode::Depthwise || g.span % lanes != 0) return out;
  for (int64_t c = lanes; c < g.span; c *= 2)
    if (g.span % c == 0) out.push_back(c);
  return out;
}

bool fits_registers(const Geometry& g, const ConvKnobs& k, int registers) {
  (void)g;
  return k.oh_t * k.ow_t * k.oc_v + k.oc_v + 1 <= registers;
}

}  // namespace

std::string ConvKnobs::to_string() const {
  return "oc_v=" + std::to_string(oc_v) + " oh_t=" + std::to_string(oh_t) +
         " ow_t=" + std::to_string(ow_t) + (ci_t ? " ci_t=" + std::to_string(ci_t) : "");
}

std::string knobs_to_string(const std::vector<ConvKnobs>& knobs) {
  std::string s;
  for (const ConvKnobs& k : knobs)
    s += (s.empty() ? "" : ";") + std::to_string(k.oc_v) + "," + std::to_string(k.oh_t) + "," +
         std::to_string(k.ow_t) + (k.ci_t ? "," + std::to_string(k.ci_t) : "");
  return s;
}

std::vector<ConvKnobs> knobs_from_string(const std::string& text) {
  std::vector<ConvKnobs> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(';', start), text.size());
    std::string item = text.substr(start, end - start);
    ConvKnobs k;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream is(item);
    bool ok =
        static_cast<bool>(is >> k.oc_v >> c1 >> k.oh_t >> c2 >> k.ow_t) && c1 == ',' && c2 == ',';
    if (ok && (is >> std::ws).peek() == ',') ok = static_cast<bool>(is >> c3 >> k.ci_t);
    ok = ok && (is >> std::ws).eof();
    NASX_USER_CHECK(ok, "bad knobs '", text,
                    "': expected OC_V,OH_T,OW_T[,CI_T] per statement, separated by ';'");
    out.push_back(k);
    start = end + 1;
  }
  return out;
}

int64_t conv_halo(const ConvProgram& p) {
  int64_t halo = 0;
  for (const ConvStatement& s : p.statements) {
    int64_t reach = (p.kernel - 1) * p.dilation;
    halo = std::max(
        {halo, -s.col_offset, (p.out_w - 1) * p.stride + reach + s.col_offset - (p.in_w - 1)});
    if (s.row_begin == 0 && s.row_end == p.in_h)
      halo = std::max({halo, -(s.y_begin * p.stride + s.row_offset),
                       (s.y_end - 1) * p.stride + reach + s.row_offset - (p.in_h - 1)});
  }
  return halo;
}

bool conv_blocked_applies(const ConvProgram& p, size_t si, int lanes, const Layout& input,
                          const Layout& output, const Layout& residual) {
  const ConvStatement& s = p.statements[si];
  auto g = geometry(p, s, lanes);
  if (!g) return false;
  auto blocked = [&](const Layout& l) { return l.block_dim == 1 && l.block == lanes; };
  if (!blocked(output) || !blocked(residual)) return false;
  int64_t halo = conv_halo(p);
  if (halo > 0 && (input.halo_dim != 2 || input.halo < halo)) return false;
  if (g->mode == Mode::Depthwise && (!blocked(input) || s.ci_base % lanes != 0)) return false;
  return true;
}

std::vector<ConvKnobs> conv_knob_space(const ConvProgram& p, size_t si, const KnobTarget& t) {
  const int lanes = t.lanes, registers = t.registers;
  const ConvStatement& s = p.statements[si];
  auto g = geometry(p, s, lanes);
  NASX_ASSERT(g, "conv_knob_space on a statement the template does not apply to");
  int64_t rows = s.y_end - s.y_begin;
  std::vector<ConvKnobs> space;
  for (int64_t oc_v = 1; oc_v <= 8; ++oc_v) {
    if (g->mode == Mode::Packed && oc_v > 1) break;
    int64_t per = g->mode == Mode::Wide ? g->cpo : g->cos;
    if (per % (oc_v * g->vw) != 0) continue;
    // Cache budget: a tile reduces over span x K x K taps of oc_v weight vectors; they should
    // stay in the L2 while the task's other tiles reuse them (oc_v = 1 is always kept).
    int64_t weights = g->span * p.kernel * p.kernel * oc_v * g->vw * 4;
    if (oc_v > 1 && weights > t.l2_bytes) continue;
    for (int64_t ow_t = 1; ow_t <= std::min<int64_t>(p.out_w, 28); ++ow_t) {
      int64_t max_rows = (ow_t == p.out_w && !g->check_rows) ? rows : 1;
      for (int64_t oh_t = 1; oh_t <= max_rows; ++oh_t) {
        ConvKnobs k{oc_v, oh_t, ow_t};
        if (oh_t * ow_t > 28 || !fits_registers(*g, k, registers)) break;
        space.push_back(k);
        for (int64_t ci_t : reduction_passes(*g, lanes)) space.push_back({oc_v, oh_t, ow_t, ci_t});
      }
    }
  }
  return space;
}

void check_conv_knobs(const ConvProgram& p, size_t si, const KnobTarget& t,
                      const ConvKnobs& knobs) {
  const int lanes = t.lanes, registers = t.registers;
  std::vector<ConvKnobs> space = conv_knob_space(p, si, t);
  if (std::find(space.begin(), space.end(), knobs) != space.end()) return;
  std::string oc_v;
  for (const ConvKnobs& k : space)
    if (oc_v.find(std::to_string(k.oc_v)) == std::string::npos)
      oc_v += (oc_v.empty() ? "" : ", ") + std::to_string(k.oc_v);
  user_error("knobs ", knobs.to_string(), " are not valid for statement S", si, " (", lanes,
             " lanes, ", registers, " registers, ", t.l2_bytes >> 10,
             " KiB L2): oc_v must be one of {", oc_v,
             "}, oh_t * ow_t * oc_v + oc_v + 1 <= ", registers, ", ow_t <= ", p.out_w,
             ", oh_t > 1 only when ow_t covers the row, ci_t 0 or whole blocks of ", lanes,
             " channels dividing the ", geometry(p, p.statements[si], lanes)->span,
             " channels a vector reduces over");
}

ConvKnobs default_conv_knobs(const ConvProgram& p, size_t si, const KnobTarget& t) {
  const int lanes = t.lanes, registers = t.registers;
  const ConvStatement& s = p.statements[si];
  auto g = geometry(p, s, lanes);
  int64_t rows = s.y_end - s.y_begin;
  // Measured on resnet34_cifar's layers (docs/performance.md): tiles of about half the register
  // file of accumulators beat fuller ones (24 of 32 on AVX-512, 12 of 16 on AVX2 lose 10-40%:
  // the broadcasts and weight vectors then compete for the rest), and among equal tiles two
  // weight vectors (each broadcast feeds two FMAs) beat one or four on AVX-512; with 16
  // registers, more positions per tile (fewer passes over the weights) beat two vectors.
  // A 1x1 kernel's body is one tap, so its tiles may fill the register file (on resnet50's 1x1
  // layers 2x14 and 2x2x7 tiles of 28 accumulators beat the 16-accumulator ones by 1.2-2.6x).
  // And a tile that covers few positions streams its unit's weights from the L2 once per
  // couple of FMAs: below 8 positions per tile the score falls with the reuse (8x2 and 4x4
  // tiles were 1.3-2.6x slower than 2x7..2x14 ones on 28- and 14-wide layers, 3x3 and 1x1;
  // bench/knob-sweep, docs/performance.md). The rule keeps one reduction pass (ci_t = 0):
  // passes gained at most about 10% where a row has several tiles, within the noise elsewhere,
  // so they are left to `nasx tune`.
  const int64_t max_acc = p.kernel == 1 && registers >= 32 ? int64_t(registers) : registers / 2 + 2;
  constexpr double kReusePositions = 8;
  ConvKnobs best;
  double best_score = -1;
  auto preference = [&](const ConvKnobs& k) {
    int64_t two = -std::abs(k.oc_v - 2), positions = k.oh_t * k.ow_t;
    return registers >= 32 ? std::make_pair(two, positions) : std::make_pair(positions, two);
  };
  for (const ConvKnobs& k : conv_knob_space(p, si, t)) {
    int64_t acc = k.oc_v * k.oh_t * k.ow_t;
    if (acc > max_acc || k.ci_t != 0) continue;
    // FMAs per tile, discounted for the idle part of remainder tiles and for too few tasks.
    double eff = double(p.out_w) / double(ceil_div(p.out_w, k.ow_t) * k.ow_t) * double(rows) /
                 double(ceil_div(rows, k.oh_t) * k.oh_t);
    int64_t units = (g->mode == Mode::Wide ? g->cpo * s.groups : g->cos) / (k.oc_v * g->vw);
    double tasks = double(units * ceil_div(rows, k.oh_t));
    double reuse = std::min(1.0, double(k.oh_t * k.ow_t) / kReusePositions);
    double score = double(acc) * eff * eff * std::min(1.0, tasks / 8.0) * reuse;
    if (score > best_score + 1e-9 ||
        (score > best_score - 1e-9 && preference(k) > preference(best))) {
      best_score = std::max(score, best_score);
      best = k;
    }
  }
  return best;
}

ir::Buffer conv_blocked_weight(const ConvProgram& p, size_t si, int lanes, ParamPacking* packing) {
  const ConvStatement& s = p.statements[si];
  auto g = geometry(p, s, lanes);
  NASX_ASSERT(g, "conv_blocked_weight on a statement the template does not apply to");
  *packing = ParamPacking{g->mode == Mode::Packed, g->cpo, g->cpg, g->span, g->vw};
  return ir::make_buffer("w" + std::to_string(si), {g->cos, g->span, p.kernel, p.kernel},
                         Type::f32(), Layout::blocked(0, g->vw));
}

Stmt lower_conv_blocked(const ConvProgram& p, size_t si, int64_t batch, const ConvBuffers& b,
                        bool relu, int lanes, const ConvKnobs& k) {
  const ConvStatement& s = p.statements[si];
  auto geo = geometry(p, s, lanes);
  NASX_ASSERT(geo, "lower_conv_blocked on a statement the template does not apply to");
  const Geometry& g = *geo;
  const int64_t V = g.vw, L = lanes, B = k.oc_v, K = p.kernel;
  const int64_t rows = s.y_end - s.y_begin, OW = p.out_w;
  const int64_t ty_n = ceil_div(rows, k.oh_t), full_ty = rows / k.oh_t, rem_r = rows % k.oh_t;
  const int64_t full_tx = OW / k.ow_t, rem_c = OW % k.ow_t;
  // Units: (group, tile of B vectors) when groups span vectors, else one vector each.
  const int64_t per_group = g.mode == Mode::Wide ? g.cpo / (B * V) : 1;
  const int64_t units = g.mode == Mode::Wide ? s.groups * per_group : g.cos / (B * V);

  Expr task = var("task"), n = var("n"), u = var("u"), ty = var("ty");
  Expr co_l, cin0;  // statement-local first output channel, first input channel
  if (g.mode == Mode::Wide) {
    Expr grp = u / per_group, t = u % per_group;
    co_l = grp * g.cpo + t * (B * V);
    cin0 = Expr(s.ci_base) + grp * g.cpg;
  } else {
    co_l = u * (B * V);
    cin0 = Expr(s.ci_base) + u * (g.mode == Mode::Packed ? g.span : B * V);
  }
  const ir::Buffer& w = b.weights[si];
  ForKind window = K <= 7 ? ForKind::Unrolled : ForKind::Serial;
  const Layout& in_layout = b.input->layout;
  const bool split_ci = in_layout.block_dim == 1 && in_layout.block == L && g.span % L == 0 &&
                        s.ci_base % L == 0 && (g.mode != Mode::Wide || g.cpg % L == 0);
  // The reduction in passes of ci_t input channels (knobs checked against the space first).
  const int64_t ci_t = k.ci_t > 0 && g.mode != Mode::Depthwise ? k.ci_t : g.span;
  NASX_ASSERT(g.span % ci_t == 0 && (!split_ci || ci_t % L == 0), "ci_t ", ci_t,
              " does not divide the span ", g.span, " in blocks");
  const int64_t passes = g.span / ci_t;
  Expr pass = var("pass");
  Expr c0 = passes > 1 ? pass * ci_t : Expr(0);

  auto tile = [&](int64_t R, int64_t C, const Expr& y0, const Expr& x0) {
    ir::Buffer acc = ir::make_buffer("acc", {R * C * B * V});
    auto at = [&](int64_t r, int64_t c, int64_t v) { return Expr(((r * C + c) * B + v) * V); };
    std::vector<Stmt> init, store, resume, keep;  // resume, keep: between reduction passes
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t v = 0; v < B; ++v) {
          Expr co = Expr(s.co_begin) + co_l + v * V;
          init.push_back(
              Store::make(acc, {at(r, c, v)},
                          b.bias ? Load::make(b.bias, {co}, V) : Broadcast::make(f32(0), V)));
          Expr y = y0 + r, x = x0 + c;
          Expr val = Load::make(acc, {at(r, c, v)}, V);
          keep.push_back(Store::make(b.output, {n, co, y, x}, val));
          resume.push_back(Store::make(acc, {at(r, c, v)}, Load::make(b.output, {n, co, y, x}, V)));
          if (b.residual) val = val + Load::make(b.residual, {n, co, y, x}, V);
          if (relu) val = ir::max(val, Broadcast::make(f32(0), V));
          store.push_back(Store::make(b.output, {n, co, y, x}, val));
        }
    Stmt first = Block::make(init), last = Block::make(store);
    if (passes > 1) {
      first = IfThenElse::make(pass < Expr(1), first, Block::make(resume));
      last = IfThenElse::make(pass < Expr(passes - 1), Block::make(keep), last);
    }

    Expr ci = var("ci"), ky = var("ky"), kx = var("kx");
    std::vector<Expr> wv;
    std::vector<Stmt> fmas;
    for (int64_t v = 0; v < B; ++v) wv.push_back(Var::make("w" + std::to_string(v), Type::f32(V)));
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) {
        Expr iy = (y0 + r) * p.stride + ky * p.dilation + s.row_offset;
        Expr ix = (x0 + c) * p.stride + kx * p.dilation + s.col_offset;
        for (int64_t v = 0; v < B; ++v) {
          Expr in = g.mode == Mode::Depthwise
                        ? Load::make(b.input, {n, cin0 + v * V, iy, ix}, V)
                        : Broadcast::make(Load::make(b.input, {n, cin0 + ci, iy, ix}), V);
          fmas.push_back(
              Store::make(acc, {at(r, c, v)}, Load::make(acc, {at(r, c, v)}, V) + in * wv[v]));
        }
      }
    Stmt body = Block::make(fmas);
    Expr wci = g.mode == Mode::Depthwise ? Expr(0) : ci;
    for (int64_t v = B - 1; v >= 0; --v)
      body = LetStmt::make(wv[v], Load::make(w, {co_l + v * V, wci, ky, kx}, V), body);
    body = loop(kx, 0, K, body, window);
    if (g.check_rows) {
      Expr iy = y0 * p.stride + ky * p.dilation + s.row_offset;
      body = IfThenElse::make(Expr(s.row_begin) <= iy && iy < Expr(s.row_end), body);
    }
    body = loop(ky, 0, K, body, window);
    if (g.mode != Mode::Depthwise) {
      // Over a blocked input, ci runs as (block, lane) so that the layout's division by the
      // lanes folds away: ci = cb * L + lane with lane in [0, L).
      if (split_ci) {
        Expr cb = var("cb"), lane = var("lane");
        body = ir::substitute(body, ci, cb * L + lane);
        body = loop(cb, passes > 1 ? pass * (ci_t / L) : Expr(0), ci_t / L, loop(lane, 0, L, body));
      } else if (in_layout.block_dim == 1) {
        // Otherwise the channel's block and lane are computed once per ci, not per load.
        Expr cin = cin0 + ci, cb = var("cb"), lane = var("lane"), c = var("c");
        body = ir::substitute(body, ci, cb * L + lane - cin0);
        body = LetStmt::make(lane, c % L, body);
        body = LetStmt::make(cb, c / L, body);
        body = loop(ci, c0, ci_t, LetStmt::make(c, cin, body));
      } else {
        body = loop(ci, c0, ci_t, body);
      }
    }
    return Allocate::make(acc, Block::make({first, body, last}));
  };

  auto row_tiles = [&](int64_t R, const Expr& y0) {
    std::vector<Stmt> parts;
    Expr tx = var("tx");
    if (full_tx > 0) parts.push_back(loop(tx, 0, full_tx, tile(R, k.ow_t, y0, tx * k.ow_t)));
    if (rem_c > 0) parts.push_back(tile(R, rem_c, y0, Expr(full_tx * k.ow_t)));
    return Block::make(parts);
  };

  Expr y0 = Expr(s.y_begin) + ty * k.oh_t;
  Stmt body;
  if (rem_r == 0)
    body = row_tiles(k.oh_t, y0);
  else if (full_ty == 0)
    body = row_tiles(rem_r, y0);
  else
    body = IfThenElse::make(ty < Expr(full_ty), row_tiles(k.oh_t, y0), row_tiles(rem_r, y0));
  if (passes > 1) body = loop(pass, 0, passes, body);  // every tile of the row, pass by pass
  body = LetStmt::make(ty, task % ty_n, body);
  body = LetStmt::make(u, (task / ty_n) % units, body);
  body = LetStmt::make(n, task / (ty_n * units), body);
  return loop(task, 0, batch * units * ty_n, body, ForKind::Parallel);
}

}  // namespace nasx
