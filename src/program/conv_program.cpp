#include "program/conv_program.h"

#include <utility>

#include <algorithm>
#include <sstream>

#include "ir/printer.h"
#include "ir/simplify.h"
#include "support/error.h"

namespace nasx {

ir::Expr ConvStatement::input_channel(const ir::Expr& co, const ir::Expr& ci) const {
  if (groups == 1) return ir::simplify(ir::Expr(ci_base) + ci);
  int64_t co_per_group = out_channels() / groups;
  return ir::simplify(ir::Expr(ci_base) + ((co - co_begin) / co_per_group) * ci_per_group + ci);
}

ConvProgram ConvProgram::make(const ConvSpec& s) {
  NASX_USER_CHECK(s.in_channels > 0 && s.in_h > 0 && s.in_w > 0,
                  "conv: input shape must be positive, got C,H,W = ", s.in_channels, ",", s.in_h,
                  ",", s.in_w);
  NASX_USER_CHECK(s.out_channels > 0, "conv: output channels must be positive, got ",
                  s.out_channels);
  NASX_USER_CHECK(s.kernel > 0, "conv: kernel must be positive, got ", s.kernel);
  NASX_USER_CHECK(s.stride > 0, "conv: stride must be positive, got ", s.stride);
  NASX_USER_CHECK(s.dilation > 0, "conv: dilation must be positive, got ", s.dilation);
  NASX_USER_CHECK(s.pad >= 0, "conv: padding must be non-negative, got ", s.pad);
  NASX_USER_CHECK(s.groups > 0, "conv: groups must be positive, got ", s.groups);
  NASX_USER_CHECK(s.in_channels % s.groups == 0, "conv: groups (", s.groups,
                  ") must divide the input channels (", s.in_channels, ")");
  NASX_USER_CHECK(s.out_channels % s.groups == 0, "conv: groups (", s.groups,
                  ") must divide the output channels (", s.out_channels, ")");
  // Size limits, checked before anything is allocated or generated: every extent at most 2^20
  // and every tensor of one image at most 2^31 elements (8 GiB of floats).
  constexpr int64_t kMaxExtent = int64_t(1) << 20, kMaxElements = int64_t(1) << 31;
  for (auto [name, v] : {std::pair<const char*, int64_t>{"input channels", s.in_channels},
                         {"input height", s.in_h},
                         {"input width", s.in_w},
                         {"output channels", s.out_channels},
                         {"kernel", s.kernel},
                         {"stride", s.stride},
                         {"dilation", s.dilation},
                         {"padding", s.pad}})
    NASX_USER_CHECK(v <= kMaxExtent, "conv: ", name, " ", v, " exceeds the limit of ", kMaxExtent);
  NASX_USER_CHECK(s.in_channels * s.in_h * s.in_w <= kMaxElements, "conv: the input ",
                  s.in_channels, "x", s.in_h, "x", s.in_w, " has more than 2^31 elements");
  NASX_USER_CHECK(s.out_channels * (s.in_channels / s.groups) * s.kernel * s.kernel <= kMaxElements,
                  "conv: the weights have more than 2^31 elements");
  int64_t span = s.dilation * (s.kernel - 1) + 1;
  NASX_USER_CHECK(span <= s.in_h + 2 * s.pad && span <= s.in_w + 2 * s.pad, "conv: kernel ",
                  s.kernel, " (dilation ", s.dilation, ", spans ", span,
                  ") is larger than the padded input ", s.in_h + 2 * s.pad, "x",
                  s.in_w + 2 * s.pad);
  ConvProgram p;
  p.in_channels = s.in_channels;
  p.in_h = s.in_h;
  p.in_w = s.in_w;
  p.out_channels = s.out_channels;
  p.kernel = s.kernel;
  p.stride = s.stride;
  p.dilation = s.dilation;
  p.bias = s.bias;
  p.out_h = (s.in_h + 2 * s.pad - span) / s.stride + 1;
  p.out_w = (s.in_w + 2 * s.pad - span) / s.stride + 1;
  NASX_USER_CHECK(s.out_channels * p.out_h * p.out_w <= kMaxElements, "conv: the output ",
                  s.out_channels, "x", p.out_h, "x", p.out_w, " has more than 2^31 elements");
  ConvStatement st;
  st.co_begin = 0;
  st.co_end = s.out_channels;
  st.y_begin = 0;
  st.y_end = p.out_h;
  st.ci_base = 0;
  st.ci_per_group = s.in_channels / s.groups;
  st.groups = s.groups;
  st.row_begin = 0;
  st.row_end = s.in_h;
  st.row_offset = -s.pad;
  st.col_offset = -s.pad;
  p.statements.push_back(st);
  p.verify();
  return p;
}

void ConvProgram::verify() const {
  NASX_ASSERT(!statements.empty(), "conv program without statements");
  std::vector<int> covered(out_channels * out_h, 0);
  for (const ConvStatement& s : statements) {
    NASX_ASSERT(0 <= s.co_begin && s.co_begin < s.co_end && s.co_end <= out_channels);
    NASX_ASSERT(0 <= s.y_begin && s.y_begin < s.y_end && s.y_end <= out_h);
    NASX_ASSERT(s.groups > 0 && s.out_channels() % s.groups == 0, "groups must divide co extent");
    NASX_ASSERT(s.ci_per_group > 0 && s.ci_base >= 0 &&
                    s.ci_base + s.groups * s.ci_per_group <= in_channels,
                "input channels out of range");
    NASX_ASSERT(0 <= s.row_begin && s.row_begin < s.row_end && s.row_end <= in_h);
    for (int64_t co = s.co_begin; co < s.co_end; ++co)
      for (int64_t y = s.y_begin; y < s.y_end; ++y) ++covered[co * out_h + y];
  }
  NASX_ASSERT(std::all_of(covered.begin(), covered.end(), [](int c) { return c == 1; }),
              "statements must cover every output (co, y) exactly once");
}

int64_t ConvProgram::params() const {
  int64_t n = bias ? out_channels : 0;
  for (const ConvStatement& s : statements) n += num_elements(s.weight_shape(kernel));
  return n;
}

int64_t ConvProgram::macs(int64_t batch) const {
  int64_t n = 0;
  for (const ConvStatement& s : statements)
    n +=
        batch * s.out_channels() * (s.y_end - s.y_begin) * out_w * s.ci_per_group * kernel * kernel;
  return n;
}

std::string ConvProgram::to_string() const {
  std::ostringstream os;
  os << "conv " << in_channels << "x" << in_h << "x" << in_w << " -> " << out_channels << "x"
     << out_h << "x" << out_w << ", kernel " << kernel << ", stride " << stride << ", dilation "
     << dilation << (bias ? ", bias" : "") << "\n";
  ir::Expr co = ir::Var::make("co"), ci = ir::Var::make("ci"), y = ir::Var::make("y"),
           x = ir::Var::make("x"), ky = ir::Var::make("ky"), kx = ir::Var::make("kx");
  for (size_t i = 0; i < statements.size(); ++i) {
    const ConvStatement& s = statements[i];
    os << "  S" << i << ": co in [" << s.co_begin << "," << s.co_end << "), y in [" << s.y_begin
       << "," << s.y_end << "), x in [0," << out_w << "), ci in [0," << s.ci_per_group
       << "), ky,kx in [0," << kernel << ")\n"
       << "      O[n,co,y,x] += W" << i << "[co-" << s.co_begin << ",ci,ky,kx] * I[n, "
       << ir::to_string(s.input_channel(co, ci)) << ", "
       << ir::to_string(ir::simplify(y * stride + ky * dilation + s.row_offset)) << ", "
       << ir::to_string(ir::simplify(x * stride + kx * dilation + s.col_offset)) << "]\n"
       << "      reads rows [" << s.row_begin << "," << s.row_end << "), cols [0," << in_w
       << "); zero elsewhere\n";
  }
  return os.str();
}

}  // namespace nasx
