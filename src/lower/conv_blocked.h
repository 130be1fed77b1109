// The blocked direct-convolution template (../shared/PERFORMANCE.md): activations in NCHW[V]c
// (V = the vector lanes: 16 on AVX-512, 8 on AVX2), output channels in the vector lanes, a
// register tile of oh_t x ow_t output positions x oc_v vectors of accumulators. For each input
// channel and window tap it loads oc_v weight vectors and broadcasts one input value per
// position; the epilogue (bias, residual, ReLU) is applied in registers before the one store.
// Weights are packed once at load as [C_out/V][span][K][K][V]: span is the input channels one
// vector of output channels reads (the group's, or, when several groups share a vector, theirs
// side by side with zeros off the block diagonal). Depthwise statements load input vectors
// instead (channel lanes against channel lanes). The input carries a halo at least as wide as
// the padding, so only row-tiled statements (spatial_split) test rows, and nothing tests columns.
// Every statement of a program gets its own template instance and its own knobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "lower/conv_gemm.h"
#include "lower/param_packing.h"
#include "program/conv_program.h"

namespace nasx {

// A statement's tiling: oc_v output-channel vectors by oh_t rows by ow_t columns, and the
// reduction in passes of ci_t input channels (0: one pass over the whole span). With several
// passes every tile of a row reuses one pass's weights (ci_t x K x K x oc_v vectors, sized for
// the L1) before the next pass; the accumulators start from the output after the first pass,
// and the epilogue (residual, ReLU) is applied after the last.
struct ConvKnobs {
  int64_t oc_v = 1, oh_t = 1, ow_t = 1, ci_t = 0;
  bool operator==(const ConvKnobs&) const = default;
  std::string to_string() const;  // "oc_v=4 oh_t=1 ow_t=6", then " ci_t=32" when set
};

// Knobs per statement as text, for records and options: "4,1,6;2,1,8,32" (OC_V,OH_T,OW_T and
// an optional CI_T each).
// Parsing is strict (UserError naming the text).
std::string knobs_to_string(const std::vector<ConvKnobs>& knobs);
std::vector<ConvKnobs> knobs_from_string(const std::string& text);

// The halo (zero border on H and W) the input of `p` needs so that no column is tested.
int64_t conv_halo(const ConvProgram& p);

// Whether statement `s` can use the template with `lanes` lanes, given the input and output
// layouts (output blocked by lanes, input halo at least conv_halo, depthwise input blocked).
bool conv_blocked_applies(const ConvProgram& p, size_t statement, int lanes,
                          const ir::Layout& input, const ir::Layout& output,
                          const ir::Layout& residual);

// The machine the knobs are chosen for: vector lanes and registers, and the per-core L2 that
// bounds a tile's weights. Passed in (runtime/compiled_op.cpp fills it from support/cpu.h):
// lowering probes nothing of the host.
struct KnobTarget {
  int lanes = 0, registers = 0;
  int64_t l1_bytes = 32 << 10, l2_bytes = 1 << 20;
};

// The valid knobs for statement s, pruned by the register budget and by the cache budget (a
// tile's weights, oc_v vectors over the whole reduction, within the target's L2), and the
// deterministic rule's choice.
std::vector<ConvKnobs> conv_knob_space(const ConvProgram& p, size_t statement,
                                       const KnobTarget& target);
// Checks that `knobs` is in statement s's space (UserError naming the valid choices otherwise).
void check_conv_knobs(const ConvProgram& p, size_t statement, const KnobTarget& target,
                      const ConvKnobs& knobs);
ConvKnobs default_conv_knobs(const ConvProgram& p, size_t statement, const KnobTarget& target);

// The packed weight argument of statement s (logical shape [co, span, K, K], blocked on dim 0)
// and how to fill it from the statement's weight tensor.
ir::Buffer conv_blocked_weight(const ConvProgram& p, size_t statement, int lanes,
                               ParamPacking* packing);

ir::Stmt lower_conv_blocked(const ConvProgram& p, size_t statement, int64_t batch,
                            const ConvBuffers& b, bool relu, int lanes, const ConvKnobs& knobs);

}  // namespace nasx
