// ConvProgram: the canonical, analysable form of one convolution.
//
// A program reads input I[N, C_in, H, W] and writes output O[N, C_out, OH, OW] through one or more
// statements. Statement s has a box iteration domain
//     n in [0,N), co in [co_begin, co_end), y in [y_begin, y_end), x in [0, OW),
//     ci in [0, ci_per_group), ky in [0, K), kx in [0, K)
// and computes
//     O[n, co, y, x] += W_s[co - co_begin, ci, ky, kx] * I[n, c(co, ci), r(y, ky), q(x, kx)]
// with the quasi-affine input accesses
// clang-format off
//     c(co, ci) = ci_base + ((co - co_begin) div ((co_end - co_begin) / groups)) * ci_per_group + ci
//     r(y, ky)  = stride * y + dilation * ky + row_offset
//     q(x, kx)  = stride * x + dilation * kx + col_offset
// clang-format on
// where a read outside the statement's input window rows [row_begin, row_end) x cols [0, W) is
// zero. Padding is thus a window, not a special case: a plain conv has row_offset = -pad and the
// window is the whole input; a spatially split conv has one window per row tile, which is exactly
// "zero padding at the tile edges". Statements write disjoint (co, y) regions that together cover
// the output; each statement owns its weight tensor W_s [co_end-co_begin, ci_per_group, K, K].
// An optional bias [C_out] is shared by all statements. Params and MACs come from these domains.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "support/tensor.h"

namespace nasx {

struct ConvStatement {
  int64_t co_begin = 0, co_end = 0;
  int64_t y_begin = 0, y_end = 0;
  int64_t ci_base = 0, ci_per_group = 0, groups = 1;
  int64_t row_begin = 0, row_end = 0;
  int64_t row_offset = 0, col_offset = 0;

  int64_t out_channels() const { return co_end - co_begin; }
  Shape weight_shape(int64_t kernel) const {
    return {out_channels(), ci_per_group, kernel, kernel};
  }

  // The input channel access c(co, ci) as a quasi-affine IR expression.
  ir::Expr input_channel(const ir::Expr& co, const ir::Expr& ci) const;
  bool operator==(const ConvStatement&) const = default;
};

// The parameters of an ordinary (torch.nn.Conv2d-like) convolution.
struct ConvSpec {
  int64_t in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, kernel = 1;
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1;
  bool bias = false;
};

struct ConvProgram {
  int64_t in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t kernel = 1, stride = 1, dilation = 1;
  bool bias = false;
  std::vector<ConvStatement> statements;

  // The untransformed convolution: one statement. Throws UserError naming the violated rule for
  // impossible parameters (non-positive sizes, groups not dividing channels, kernel larger than
  // the padded input).
  static ConvProgram make(const ConvSpec& spec);

  // Checks the program's invariants (statements in bounds, disjoint, covering the output,
  // divisibility of groups); throws InternalError on violation.
  void verify() const;

  Shape input_shape(int64_t batch) const { return {batch, in_channels, in_h, in_w}; }
  Shape output_shape(int64_t batch) const { return {batch, out_channels, out_h, out_w}; }
  int64_t params() const;
  int64_t macs(int64_t batch = 1) const;  // multiply-accumulates of the statements' domains
  std::string to_string() const;          // the statements as loop-free formulas
  bool operator==(const ConvProgram&) const = default;
};

}  // namespace nasx
