#include "torch/reference.h"

#include "torch/torch_ops.h"

#include <algorithm>

#include "support/error.h"
#include "support/overloaded.h"

namespace nasx {
namespace F = torch::nn::functional;
using torch::indexing::Slice;

torch::Tensor to_torch(const Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

Tensor from_torch(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kFloat32);
  Tensor out(Shape(c.sizes().begin(), c.sizes().end()));
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + out.size(), out.data.begin());
  return out;
}

namespace {

// One statement of a ConvProgram: slice its input channels and row window, zero-pad so that the
// first output row and column line up, convolve with its own weights and groups.
torch::Tensor conv_statement(const ConvProgram& p, const ConvStatement& s, const torch::Tensor& in,
                             const torch::Tensor& w) {
  int64_t span = p.dilation * (p.kernel - 1) + 1;
  int64_t rows = s.row_end - s.row_begin;
  int64_t top = p.stride * s.y_begin + s.row_offset - s.row_begin;
  int64_t bottom = p.stride * (s.y_end - 1) + span + s.row_offset - s.row_begin;
  int64_t left = s.col_offset;
  int64_t right = p.stride * (p.out_w - 1) + span + s.col_offset;
  torch::Tensor x = in.index({Slice(), Slice(s.ci_base, s.ci_base + s.groups * s.ci_per_group),
                              Slice(s.row_begin, s.row_end), Slice()});
  x = x.index({Slice(), Slice(), Slice(std::max<int64_t>(top, 0), std::min(bottom, rows)),
               Slice(std::max<int64_t>(left, 0), std::min(right, p.in_w))});
  x = F::pad(x,
             F::PadFuncOptions({std::max<int64_t>(-left, 0), std::max<int64_t>(right - p.in_w, 0),
                                std::max<int64_t>(-top, 0), std::max<int64_t>(bottom - rows, 0)}));
  torch::Tensor y =
      torch::conv2d(x, w, torch::Tensor(), torch::IntArrayRef{p.stride, p.stride},
                    torch::IntArrayRef{0, 0}, torch::IntArrayRef{p.dilation, p.dilation}, s.groups);
  return y.index({Slice(), Slice(), Slice(0, s.y_end - s.y_begin), Slice(0, p.out_w)});
}

torch::Tensor conv_program(const ConvProgram& p, const torch::Tensor& in,
                           const std::vector<torch::Tensor>& w) {
  torch::Tensor out = torch::zeros(p.output_shape(in.size(0)), in.options());
  for (size_t i = 0; i < p.statements.size(); ++i) {
    const ConvStatement& s = p.statements[i];
    out.index_put_({Slice(), Slice(s.co_begin, s.co_end), Slice(s.y_begin, s.y_end)},
                   conv_statement(p, s, in, w[i]));
  }
  if (p.bias) out = out + w.back().view({1, -1, 1, 1});
  return out;
}

}  // namespace

torch::Tensor torch_forward(const Op& op, const std::vector<torch::Tensor>& in,
                            const std::vector<torch::Tensor>& w, bool training,
                            bool update_running) {
  return std::visit(
      Overloaded{
          [&](const ConvProgram& p) { return conv_program(p, in[0], w); },
          [&](const FusedConv& f) {
            torch::Tensor out = conv_program(f.program, in[0], w);
            if (f.residual) out = out + in[1];
            return f.relu ? torch::relu(out) : out;
          },
          [&](const BatchNorm& b) {
            torch::Tensor y =
                training
                    ? torch::batch_norm(in[0], w[0], w[1], update_running ? w[2] : torch::Tensor(),
                                        update_running ? w[3] : torch::Tensor(), true, 0.1, b.eps,
                                        false)
                    : torch::batch_norm(in[0], w[0], w[1], w[2], w[3], false, 0.1, b.eps, false);
            return b.relu ? torch::relu(y) : y;
          },
          [&](const Relu&) { return torch::relu(in[0]); },
          [&](const ResidualAdd&) { return in[0] + in[1]; },
          [&](const Concat&) { return torch::cat(in, 1); },
          [&](const MaxPool& m) { return torch::max_pool2d(in[0], m.kernel, m.stride, m.pad); },
          [&](const AvgPool& a) {
            return torch::avg_pool2d(in[0], a.kernel, a.stride, a.pad, false, true);
          },
          [&](const GlobalAvgPool&) {
            return torch::adaptive_avg_pool2d(in[0], {1, 1});
          },
          [&](const Linear& l) {
            return l.bias ? torch::linear(in[0], w[0], w[1]) : torch::linear(in[0], w[0]);
          },
          [&](const Flatten&) { return torch::flatten(in[0], 1); },
      },
      op);
}

TorchParams::TorchParams(const Network& net, bool grad, bool absolute, torch::Dtype dtype,
                         torch::Device device) {
  for (const Node& n : net.nodes) {
    std::vector<torch::Tensor> p;
    bool bn = std::holds_alternative<BatchNorm>(n.op);
    for (size_t i = 0; i < n.params.size(); ++i) {
      torch::Tensor v = to_torch(n.params[i]).to(device, dtype);
      bool buffer = bn && i >= 2;  // running statistics are buffers, not parameters
      if (absolute && !buffer) v = v.abs();
      if (grad && !buffer) trainable.push_back(v.requires_grad_(true));
      p.push_back(v);
    }
    values.push_back(std::move(p));
  }
}

std::vector<torch::Tensor> forward_graph(const Network& net, const TorchParams& params,
                                         const torch::Tensor& input, bool training,
                                         bool update_running) {
  std::vector<torch::Tensor> v(net.nodes.size());
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    v[i] = torch_forward(net.nodes[i].op, net.inputs_of(i, input, v), params.values[i], training,
                         update_running);
  }
  return v;
}

namespace {

std::vector<torch::Tensor> to_torch_all(const std::vector<Tensor>& v) {
  std::vector<torch::Tensor> out;
  for (const Tensor& t : v) out.push_back(to_torch(t));
  return out;
}

}  // namespace

Tensor torch_reference(const Op& op, const std::vector<Tensor>& inputs,
                       const std::vector<Tensor>& params) {
  torch::InferenceMode guard;
  return from_torch(torch_forward(op, to_torch_all(inputs), to_torch_all(params)));
}

TimingStats time_torch_reference(const Op& op, const std::vector<Tensor>& inputs,
                                 const std::vector<Tensor>& params, int warmup, int repeat) {
  torch::InferenceMode guard;
  auto in = to_torch_all(inputs);
  auto w = to_torch_all(params);
  return measure([&] { torch_forward(op, in, w); }, warmup, repeat);
}

void set_torch_threads(int threads) {
  torch::set_num_threads(threads);
}

}  // namespace nasx
