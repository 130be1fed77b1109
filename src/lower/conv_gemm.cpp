#include "lower/conv_gemm.h"

#include <algorithm>

namespace nasx {
namespace {

using ir::Allocate;
using ir::Block;
using ir::Expr;
using ir::f32;
using ir::For;
using ir::ForKind;
using ir::LetStmt;
using ir::Load;
using ir::make_buffer;
using ir::Select;
using ir::Stmt;
using ir::Store;
using ir::Type;
using ir::Var;

constexpr int64_t kTargetTasks = 8;  // parallel tasks wanted: a few per core for balance

Expr var(const char* name) {
  return Var::make(name);
}
Stmt loop(const Expr& v, Expr mn, Expr extent, Stmt body, ForKind k = ForKind::Serial) {
  return For::make(v, std::move(mn), std::move(extent), k, std::move(body));
}

int64_t output_tile(int64_t co_per_group) {
  for (int64_t t : {8, 4})
    if (co_per_group % t == 0) return t;
  return 0;
}

}  // namespace

bool conv_gemm_applies(const ConvStatement& s) {
  return output_tile(s.out_channels() / s.groups) > 0;
}

Stmt lower_conv_gemm(const ConvProgram& p, size_t si, int64_t batch, const ConvBuffers& b,
                     bool relu) {
  const ConvStatement& s = p.statements[si];
  const int64_t K = p.kernel, groups = s.groups, cpg = s.ci_per_group;
  const int64_t cpo = s.out_channels() / groups, kd = cpg * K * K;
  const int64_t plane = (s.y_end - s.y_begin) * p.out_w;  // output positions of this statement
  const int64_t pb = plane <= 16 ? 16 : 32;
  const int64_t blocks = (plane + pb - 1) / pb;
  const int64_t cot = output_tile(cpo), tiles = cpo / cot;
  const int64_t chunks = std::clamp<int64_t>(
      (kTargetTasks + batch * groups * blocks - 1) / (batch * groups * blocks), 1, tiles);
  const int64_t per_chunk = (tiles + chunks - 1) / chunks;

  Expr task = var("task"), n = var("n"), grp = var("g"), blk = var("blk"), chunk = var("chunk");
  Expr p0 = var("p0");
  ir::Buffer col = make_buffer("col", {kd, pb});
  ir::Buffer acc = make_buffer("acc", {cot, pb});

  // The panel: col[k][pp] for k = (ci, ky, kx), zero outside the statement's input window.
  Expr pp = var("pp"), pos = var("p"), y = var("y"), x = var("x"), ci = var("ci"), c = var("c");
  Expr ky = var("ky"), kx = var("kx"), iy = var("iy"), ix = var("ix");
  Expr valid = pos < Expr(plane) && Expr(s.row_begin) <= iy && iy < Expr(s.row_end) &&
               Expr(0) <= ix && ix < Expr(p.in_w);
  Stmt fill = Store::make(col, {(ci * K + ky) * K + kx, pp},
                          Select::make(valid, Load::make(b.input, {n, c, iy, ix}), f32(0)));
  ForKind window = K <= 7 ? ForKind::Unrolled : ForKind::Serial;
  fill = LetStmt::make(ix, x * p.stride + kx * p.dilation + s.col_offset, fill);
  fill = loop(kx, 0, K, fill, window);
  fill = LetStmt::make(iy, y * p.stride + ky * p.dilation + s.row_offset, fill);
  fill = loop(ky, 0, K, fill, window);
  fill = LetStmt::make(c, Expr(s.ci_base) + grp * cpg + ci, fill);
  fill = loop(ci, 0, cpg, fill);
  fill = LetStmt::make(x, pos % p.out_w, fill);
  fill = LetStmt::make(y, Expr(s.y_begin) + pos / p.out_w, fill);
  fill = LetStmt::make(pos, p0 + pp, fill);
  fill = loop(pp, 0, pb, fill);

  // One tile: COT output channels starting at co (statement-local), all PB positions.
  Expr tile = var("tile"), co = var("co"), k = var("k"), cv = Var::make("cv", Type::f32());
  std::vector<Stmt> init, update, store;
  std::vector<Expr> w;
  Expr valid_pb = ir::min(Expr(pb), Expr(plane) - p0);
  for (int64_t j = 0; j < cot; ++j) {
    Expr bias = b.bias ? Load::make(b.bias, {Expr(s.co_begin) + co + j}) : f32(0);
    init.push_back(loop(pp, 0, pb, Store::make(acc, {Expr(j), pp}, bias), ForKind::Vectorized));
    w.push_back(Var::make("w" + std::to_string(j), Type::f32()));
    update.push_back(Store::make(acc, {Expr(j), pp}, Load::make(acc, {Expr(j), pp}) + w[j] * cv));
    // A plain output plane is contiguous: index it as [n, co, 0, y_begin * OW + position].
    Expr position = p0 + pp + s.y_begin * p.out_w;
    std::vector<Expr> at{n, Expr(s.co_begin) + co + j, 0, position};
    if (!b.output->layout.plain() || (b.residual && !b.residual->layout.plain()))
      at = {n, Expr(s.co_begin) + co + j, position / p.out_w, position % p.out_w};
    Expr v = Load::make(acc, {Expr(j), pp});
    if (b.residual) v = v + Load::make(b.residual, at);
    if (relu) v = ir::max(v, f32(0));
    store.push_back(loop(pp, 0, valid_pb, Store::make(b.output, at, v), ForKind::Vectorized));
  }
  Stmt inner = LetStmt::make(cv, Load::make(col, {k, pp}), Block::make(update));
  inner = loop(pp, 0, pb, inner, ForKind::Vectorized);
  for (int64_t j = cot - 1; j >= 0; --j)
    inner = LetStmt::make(w[j], Load::make(b.weights[si], {co + j, 0, 0, k}), inner);
  Stmt gemm = Block::make({Block::make(init), loop(k, 0, kd, inner), Block::make(store)});
  gemm = Allocate::make(acc, gemm);
  gemm = LetStmt::make(co, grp * cpo + tile * cot, gemm);
  Expr first_tile = chunk * per_chunk;
  gemm = loop(tile, first_tile, ir::min(Expr(per_chunk), Expr(tiles) - first_tile), gemm);

  Stmt body = Allocate::make(col, Block::make({fill, gemm}));
  body = LetStmt::make(p0, blk * pb, body);
  Expr per_image = groups * blocks * chunks;
  body = LetStmt::make(chunk, task % chunks, body);
  body = LetStmt::make(blk, (task / chunks) % blocks, body);
  body = LetStmt::make(grp, (task / (chunks * blocks)) % groups, body);
  body = LetStmt::make(n, task / per_image, body);
  return loop(task, 0, batch * per_image, body, ForKind::Parallel);
}

}  // namespace nasx
