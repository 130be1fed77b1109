#include "torch/twin.h"

#include "support/error.h"
#include "torch/torch_ops.h"

namespace nasx {

struct TorchTwin::Impl {
  Network net;  // structure only; weights live in `params`
  std::vector<std::vector<torch::Tensor>> params;
  std::vector<size_t> last_use;  // per node: the last node reading it

  torch::Tensor forward(const torch::Tensor& input) const {
    std::vector<torch::Tensor> values(net.nodes.size());
    for (size_t i = 0; i < net.nodes.size(); ++i) {
      values[i] = torch_forward(net.nodes[i].op, net.inputs_of(i, input, values), params[i]);
      // Free what no later node reads (keeps peak memory like the compiled runtime's).
      for (int k : net.nodes[i].inputs)
        if (k != kNetworkInput && last_use[k] == i) values[k] = torch::Tensor();
    }
    return values.back();
  }
};

TorchTwin::TorchTwin(const Network& net) : impl_(std::make_unique<Impl>()) {
  impl_->net = net;
  impl_->last_use.assign(net.nodes.size(), net.nodes.size());
  for (size_t i = 0; i < net.nodes.size(); ++i)
    for (int k : net.nodes[i].inputs)
      if (k != kNetworkInput) impl_->last_use[k] = i;
  for (Node& n : impl_->net.nodes) {
    std::vector<torch::Tensor> p;
    for (const Tensor& t : n.params) p.push_back(to_torch(t));
    impl_->params.push_back(std::move(p));
    n.params.clear();
  }
}

TorchTwin::~TorchTwin() = default;

Tensor TorchTwin::forward(const Tensor& input) const {
  NASX_USER_CHECK(input.shape.size() == 4 && input.shape[0] > 0 &&
                      input.shape == impl_->net.input_shape(input.shape[0]),
                  "network ", impl_->net.name, " expects input [N,", impl_->net.input_chw[0], ",",
                  impl_->net.input_chw[1], ",", impl_->net.input_chw[2], "], got ",
                  shape_string(input.shape));
  torch::InferenceMode guard;
  return from_torch(impl_->forward(to_torch(input)));
}

TimingStats TorchTwin::time(const Tensor& input, int warmup, int repeat) const {
  torch::InferenceMode guard;
  torch::Tensor x = to_torch(input);
  return measure([&] { impl_->forward(x); }, warmup, repeat);
}

}  // namespace nasx
