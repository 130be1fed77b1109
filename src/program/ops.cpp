#include "program/ops.h"

#include <iterator>

#include "support/error.h"
#include "support/overloaded.h"

namespace nasx {
namespace {

void expect_rank(const std::string& op, const Shape& s, size_t rank) {
  NASX_USER_CHECK(s.size() == rank, op, ": expected a rank-", rank, " input, got ",
                  shape_string(s));
  for (int64_t d : s)
    NASX_USER_CHECK(d > 0, op, ": input shape ", shape_string(s), " has a non-positive dimension");
}

Shape pool_shape(const std::string& name, int64_t kernel, int64_t stride, int64_t pad,
                 const Shape& in) {
  expect_rank(name, in, 4);
  NASX_USER_CHECK(kernel > 0 && stride > 0 && pad >= 0, name,
                  ": kernel and stride must be positive and padding non-negative");
  constexpr int64_t kMaxExtent = int64_t(1) << 20;  // as for convolutions (ConvProgram::make)
  NASX_USER_CHECK(kernel <= kMaxExtent && stride <= kMaxExtent && pad <= kMaxExtent, name,
                  ": kernel, stride and padding must be at most ", kMaxExtent);
  NASX_USER_CHECK(2 * pad <= kernel, name, ": padding ", pad, " must be at most half the kernel ",
                  kernel);
  NASX_USER_CHECK(kernel <= in[2] + 2 * pad && kernel <= in[3] + 2 * pad, name, ": kernel ", kernel,
                  " is larger than the padded input ", shape_string(in));
  return {in[0], in[1], (in[2] + 2 * pad - kernel) / stride + 1,
          (in[3] + 2 * pad - kernel) / stride + 1};
}

Shape conv_shape(const std::string& name, const ConvProgram& p, const Shape& in) {
  expect_rank(name, in, 4);
  NASX_USER_CHECK(in[1] == p.in_channels && in[2] == p.in_h && in[3] == p.in_w, name, ": input ",
                  shape_string(in), " does not match the program's ",
                  shape_string(p.input_shape(in[0])));
  return p.output_shape(in[0]);
}

std::vector<ParamSpec> conv_params(const ConvProgram& p) {
  std::vector<ParamSpec> v;
  for (size_t i = 0; i < p.statements.size(); ++i)
    v.push_back({p.statements.size() == 1 ? "weight" : "weight" + std::to_string(i),
                 p.statements[i].weight_shape(p.kernel)});
  if (p.bias) v.push_back({"bias", {p.out_channels}});
  return v;
}

}  // namespace

std::string op_name(const Op& op) {
  static constexpr const char* names[] = {"conv",   "batch_norm", "relu",      "add",
                                          "concat", "max_pool",   "avg_pool",  "global_avg_pool",
                                          "linear", "flatten",    "fused_conv"};
  static_assert(std::size(names) == std::variant_size_v<Op>, "one name per operator kind");
  return names[op.index()];
}

const ConvProgram* conv_program_of(const Op& op) {
  if (const auto* p = std::get_if<ConvProgram>(&op)) return p;
  if (const auto* f = std::get_if<FusedConv>(&op)) return &f->program;
  return nullptr;
}

int64_t op_arity(const Op& op) {
  if (std::holds_alternative<ResidualAdd>(op)) return 2;
  if (auto* f = std::get_if<FusedConv>(&op)) return f->residual ? 2 : 1;
  if (auto* c = std::get_if<Concat>(&op)) return static_cast<int64_t>(c->channels.size());
  return 1;
}

Shape infer_shape(const Op& op, const std::vector<Shape>& in) {
  std::string name = op_name(op);
  NASX_USER_CHECK(static_cast<int64_t>(in.size()) == op_arity(op), name, ": expected ",
                  op_arity(op), " inputs, got ", in.size());
  return std::visit(
      Overloaded{
          [&](const ConvProgram& p) { return conv_shape(name, p, in[0]); },
          [&](const FusedConv& f) -> Shape {
            Shape out = conv_shape(name, f.program, in[0]);
            if (f.residual)
              NASX_USER_CHECK(in[1] == out, name, ": residual ", shape_string(in[1]),
                              " differs from the convolution's output ", shape_string(out));
            return out;
          },
          [&](const BatchNorm& b) -> Shape {
            expect_rank(name, in[0], 4);
            NASX_USER_CHECK(in[0][1] == b.channels, name, ": ", b.channels, " channels, input has ",
                            in[0][1]);
            return in[0];
          },
          [&](const Relu&) -> Shape {
            NASX_USER_CHECK(!in[0].empty(), name, ": empty shape");
            return in[0];
          },
          [&](const ResidualAdd&) -> Shape {
            NASX_USER_CHECK(in[0] == in[1], name, ": input shapes differ, ", shape_string(in[0]),
                            " vs ", shape_string(in[1]));
            return in[0];
          },
          [&](const Concat& c) -> Shape {
            NASX_USER_CHECK(!c.channels.empty(), name, ": no inputs");
            Shape out = in[0];
            expect_rank(name, out, 4);
            out[1] = 0;
            for (size_t i = 0; i < in.size(); ++i) {
              expect_rank(name, in[i], 4);
              NASX_USER_CHECK(in[i][0] == in[0][0] && in[i][2] == in[0][2] && in[i][3] == in[0][3],
                              name, ": input ", i, " ", shape_string(in[i]),
                              " differs from input 0 ", shape_string(in[0]),
                              " outside the channel dimension");
              NASX_USER_CHECK(in[i][1] == c.channels[i], name, ": input ", i, " has ", in[i][1],
                              " channels, expected ", c.channels[i]);
              out[1] += in[i][1];
            }
            return out;
          },
          [&](const MaxPool& m) { return pool_shape(name, m.kernel, m.stride, m.pad, in[0]); },
          [&](const AvgPool& a) { return pool_shape(name, a.kernel, a.stride, a.pad, in[0]); },
          [&](const GlobalAvgPool&) -> Shape {
            expect_rank(name, in[0], 4);
            return {in[0][0], in[0][1], 1, 1};
          },
          [&](const Linear& l) -> Shape {
            expect_rank(name, in[0], 2);
            NASX_USER_CHECK(in[0][1] == l.in_features, name, ": expects ", l.in_features,
                            " features, input has ", in[0][1]);
            NASX_USER_CHECK(l.out_features > 0, name, ": out_features must be positive");
            return {in[0][0], l.out_features};
          },
          [&](const Flatten&) -> Shape {
            NASX_USER_CHECK(in[0].size() >= 2, name, ": input must have a batch dimension");
            return {in[0][0], num_elements(in[0]) / in[0][0]};
          },
      },
      op);
}

std::vector<ParamSpec> param_specs(const Op& op) {
  return std::visit(Overloaded{
                        [](const ConvProgram& p) { return conv_params(p); },
                        [](const FusedConv& f) { return conv_params(f.program); },
                        [](const BatchNorm& b) {
                          return std::vector<ParamSpec>{{"weight", {b.channels}},
                                                        {"bias", {b.channels}},
                                                        {"running_mean", {b.channels}},
                                                        {"running_var", {b.channels}}};
                        },
                        [](const Linear& l) {
                          std::vector<ParamSpec> v{{"weight", {l.out_features, l.in_features}}};
                          if (l.bias) v.push_back({"bias", {l.out_features}});
                          return v;
                        },
                        [](const auto&) { return std::vector<ParamSpec>{}; },
                    },
                    op);
}

int64_t param_count(const Op& op) {
  // Running statistics are buffers, not parameters (torch's count).
  if (auto* b = std::get_if<BatchNorm>(&op)) return 2 * b->channels;
  int64_t n = 0;
  for (const ParamSpec& p : param_specs(op)) n += num_elements(p.shape);
  return n;
}

int64_t op_macs(const Op& op, const std::vector<Shape>& in) {
  if (auto* p = std::get_if<ConvProgram>(&op)) return p->macs(in.at(0).at(0));
  if (auto* f = std::get_if<FusedConv>(&op)) return f->program.macs(in.at(0).at(0));
  if (auto* l = std::get_if<Linear>(&op)) return in.at(0).at(0) * l->in_features * l->out_features;
  return 0;  // the other operators are bandwidth, not multiply-accumulates
}

}  // namespace nasx
