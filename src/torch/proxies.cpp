#include "torch/proxies.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "support/error.h"
#include "torch/torch_ops.h"

namespace nasx {
namespace {

std::string strip_last(const std::string& name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

bool in_block(const std::string& layer, const std::string& block) {
  return layer.size() > block.size() && layer.compare(0, block.size(), block) == 0 &&
         layer[block.size()] == '.';
}

// Weights of convolutions and linear layers: (node index, tensor index).
std::vector<std::pair<int, int>> weights(const Network& net) {
  std::vector<std::pair<int, int>> w;
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Op& op = net.nodes[i].op;
    if (auto* p = std::get_if<ConvProgram>(&op))
      for (size_t s = 0; s < p->statements.size(); ++s) w.emplace_back(int(i), int(s));
    if (std::holds_alternative<Linear>(op)) w.emplace_back(int(i), 0);
  }
  return w;
}

double logdet_kernel(const std::vector<torch::Tensor>& codes) {
  torch::Tensor c = torch::cat(codes, 1).to(torch::kFloat64);  // [N, units]
  torch::Tensor k = c.matmul(c.t()) + (1 - c).matmul((1 - c).t());
  return std::get<1>(torch::slogdet(k)).item<double>();
}

}  // namespace

std::vector<ProxyBlock> find_blocks(const Network& net) {
  std::vector<ProxyBlock> blocks;
  for (const Node& n : net.nodes) {
    if (std::holds_alternative<ResidualAdd>(n.op))
      blocks.push_back({strip_last(n.name), n.inputs.front()});
    if (std::holds_alternative<Concat>(n.op))
      blocks.push_back({strip_last(n.name), n.inputs.back()});
  }
  return blocks;
}

namespace {

void check_minibatch(const Network& net, const Minibatch& batch) {
  int64_t n = batch.images.shape.at(0);
  NASX_USER_CHECK(batch.images.shape == net.input_shape(n), "the minibatch ",
                  shape_string(batch.images.shape), " does not fit ", net.name, "'s input ",
                  shape_string(net.input_shape(n)));
  NASX_USER_CHECK(static_cast<int64_t>(batch.labels.size()) == n, "one label per image expected");
}

// Sums a value per convolution/linear weight into the total and into the blocks holding it.
class PerWeight {
 public:
  PerWeight(const Network& net, std::string proxy)
      : net_(net), blocks_(find_blocks(net)), per_block_(blocks_.size(), 0) {
    r_.proxy = std::move(proxy);
  }
  void add(int node, double value) {
    r_.total += value;
    for (size_t b = 0; b < blocks_.size(); ++b)
      if (in_block(net_.nodes[node].name, blocks_[b].name)) per_block_[b] += value;
  }
  ProxyResult finish() {
    for (size_t b = 0; b < blocks_.size(); ++b)
      r_.blocks.push_back({blocks_[b].name, per_block_[b]});
    return r_;
  }

 private:
  const Network& net_;
  std::vector<ProxyBlock> blocks_;
  std::vector<double> per_block_;
  ProxyResult r_;
};

// One forward and one backward pass (train mode, cross-entropy loss), shared by every proxy that
// reads gradients: the block activations keep theirs (Fisher), the weights theirs (SNIP,
// grad_norm) when `weight_grads`. The input is tracked too, so the graph exists even for a
// network without weights. (Detaching the activations into leaves would cut the paths from the
// loss to earlier blocks.)
struct GradientPass {
  const Network& net;
  std::vector<ProxyBlock> blocks;
  TorchParams params;
  std::vector<torch::Tensor> values;  // every node's output
  GradientPass(const Network& n, const Minibatch& batch, bool weight_grads)
      : net(n), blocks(find_blocks(n)), params(n, weight_grads) {
    torch::Tensor labels = torch::tensor(batch.labels, torch::kInt64);
    torch::Tensor images = to_torch(batch.images);
    images.requires_grad_(true);
    values = forward_graph(net, params, images, true);
    for (const ProxyBlock& b : blocks) values[b.activation].retain_grad();
    torch::cross_entropy_loss(values.back(), labels).backward();
  }
};

ProxyResult fisher(const GradientPass& g) {
  ProxyResult r{"fisher", 0, {}};
  for (const ProxyBlock& b : g.blocks) {
    torch::Tensor a = g.values[b.activation], grad = a.grad();
    double value =
        grad.defined() ? (0.5 * (a * grad).sum({2, 3}).pow(2).mean(0).sum()).item<double>() : 0.0;
    r.blocks.push_back({b.name, value});
    r.total += value;
  }
  return r;
}

ProxyResult grad_norm(const GradientPass& g) {
  PerWeight r(g.net, "grad_norm");
  for (auto [node, t] : weights(g.net))
    r.add(node, g.params.values[node][t].grad().norm().item<double>());
  return r.finish();
}

ProxyResult snip(const GradientPass& g) {
  PerWeight r(g.net, "snip");
  for (auto [node, t] : weights(g.net)) {
    const torch::Tensor& w = g.params.values[node][t];
    r.add(node, (w * w.grad()).abs().sum().item<double>());
  }
  return r.finish();
}

// synflow: absolute weights, an all-ones input, double precision.
ProxyResult synflow(const Network& net, const Minibatch&) {
  TorchParams params(net, true, true, torch::kFloat64);
  torch::Tensor ones = torch::ones(net.input_shape(1), torch::kFloat64);
  forward_graph(net, params, ones, false).back().sum().backward();
  PerWeight r(net, "synflow");
  for (auto [node, t] : weights(net)) {
    const torch::Tensor& w = params.values[node][t];
    r.add(node, (w * w.grad()).abs().sum().item<double>());
  }
  return r.finish();
}

ProxyResult naswot(const Network& net, const Minibatch& batch) {
  int64_t n = batch.images.shape.at(0);
  ProxyResult r{"naswot", 0, {}};
  TorchParams params(net, false);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> v = forward_graph(net, params, to_torch(batch.images), true);
  auto codes_of = [&](const std::string* block) {
    std::vector<torch::Tensor> codes;
    for (size_t i = 0; i < net.nodes.size(); ++i)
      if (std::holds_alternative<Relu>(net.nodes[i].op) &&
          (!block || in_block(net.nodes[i].name, *block)))
        codes.push_back((v[i] > 0).reshape({n, -1}));
    return codes;
  };
  for (const ProxyBlock& b : find_blocks(net)) {
    std::vector<torch::Tensor> codes = codes_of(&b.name);
    r.blocks.push_back({b.name, codes.empty() ? 0.0 : logdet_kernel(codes)});
  }
  std::vector<torch::Tensor> all = codes_of(nullptr);
  r.total = all.empty() ? 0.0 : logdet_kernel(all);
  return r;
}

// ZiCo: gradients of kZicoParts equal parts of the minibatch; per layer weight, the sum over its
// elements of mean|g| / std(g) across the parts, and log of that sum (skipped when 0).
ProxyResult zico(const Network& net, const Minibatch& batch) {
  constexpr int64_t kZicoParts = 4;
  int64_t n = batch.images.shape.at(0);
  NASX_USER_CHECK(n >= 2 * kZicoParts, "zico needs a minibatch of at least ", 2 * kZicoParts,
                  " images (", kZicoParts, " parts), got ", n);
  torch::Tensor labels = torch::tensor(batch.labels, torch::kInt64);
  torch::Tensor images = to_torch(batch.images);
  std::vector<std::pair<int, int>> ws = weights(net);
  TorchParams params(net, true);
  std::vector<std::vector<torch::Tensor>> grads(ws.size());
  int64_t part = n / kZicoParts;
  for (int64_t k = 0; k < kZicoParts; ++k) {
    for (auto [node, t] : ws)
      if (params.values[node][t].grad().defined()) params.values[node][t].mutable_grad().zero_();
    torch::Tensor x = images.slice(0, k * part, (k + 1) * part);
    torch::Tensor y = labels.slice(0, k * part, (k + 1) * part);
    torch::cross_entropy_loss(forward_graph(net, params, x, true).back(), y).backward();
    for (size_t w = 0; w < ws.size(); ++w)
      grads[w].push_back(params.values[ws[w].first][ws[w].second].grad().clone());
  }
  PerWeight r(net, "zico");
  for (size_t w = 0; w < ws.size(); ++w) {
    torch::Tensor g = torch::stack(grads[w]).to(torch::kFloat64);  // [parts, ...]
    torch::Tensor sd = g.std(0, /*unbiased=*/false), mean_abs = g.abs().mean(0);
    torch::Tensor nonzero = sd != 0;
    double sum = (mean_abs.masked_select(nonzero) / sd.masked_select(nonzero)).sum().item<double>();
    if (sum > 0) r.add(ws[w].first, std::log(sum));
  }
  return r.finish();
}

// Every parameter of the layers, biases and batch norms included.
ProxyResult params(const Network& net, const Minibatch&) {
  PerWeight r(net, "params");
  for (size_t i = 0; i < net.nodes.size(); ++i) r.add(int(i), double(param_count(net.nodes[i].op)));
  return r.finish();
}

// The proxies, as values: a name, what the proxy needs, and how it is computed (proxies.h has
// the definitions). The order is the order of every list shown to users.
enum class Needs { BlockGradients, WeightGradients, OwnPass };
struct ProxyDef {
  const char* name;
  Needs needs;
  ProxyResult (*from_gradients)(const GradientPass&);         // BlockGradients, WeightGradients
  ProxyResult (*own_pass)(const Network&, const Minibatch&);  // OwnPass
};
const ProxyDef kProxies[] = {
    {"fisher", Needs::BlockGradients, fisher, nullptr},
    {"grad_norm", Needs::WeightGradients, grad_norm, nullptr},
    {"snip", Needs::WeightGradients, snip, nullptr},
    {"synflow", Needs::OwnPass, nullptr, synflow},
    {"naswot", Needs::OwnPass, nullptr, naswot},
    {"zico", Needs::OwnPass, nullptr, zico},
    {"params", Needs::OwnPass, nullptr, params},
};

const ProxyDef& proxy_def(const std::string& proxy) {
  for (const ProxyDef& d : kProxies)
    if (proxy == d.name) return d;
  user_error("unknown proxy '", proxy, "' (known: ", proxy_list(), ")");
}

}  // namespace

const std::vector<std::string>& proxy_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const ProxyDef& d : kProxies) v.push_back(d.name);
    return v;
  }();
  return names;
}

std::string proxy_list(const std::string& last) {
  std::string out;
  const std::vector<std::string>& names = proxy_names();
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? last : ", ") + names[i];
  return out;
}

bool shares_gradient_pass(const std::string& proxy) {
  return proxy_def(proxy).needs != Needs::OwnPass;
}

std::vector<ProxyResult> compute_proxies(const Network& net, const Minibatch& batch,
                                         const std::vector<std::string>& proxies) {
  bool gradients = false, weight_grads = false;
  for (const std::string& p : proxies) {
    Needs needs = proxy_def(p).needs;
    gradients = gradients || needs != Needs::OwnPass;
    weight_grads = weight_grads || needs == Needs::WeightGradients;
  }
  check_minibatch(net, batch);
  std::optional<GradientPass> pass;
  if (gradients) pass.emplace(net, batch, weight_grads);
  std::vector<ProxyResult> out;
  for (const std::string& p : proxies) {
    const ProxyDef& d = proxy_def(p);
    out.push_back(d.needs == Needs::OwnPass ? d.own_pass(net, batch) : d.from_gradients(*pass));
  }
  return out;
}

ProxyResult compute_proxy(const Network& net, const Minibatch& batch, const std::string& proxy) {
  return compute_proxies(net, batch, {proxy}).front();
}

Legality proxy_legality(const Network& reference, const Network& candidate,
                        const std::vector<std::string>& transformed_layers, const Minibatch& batch,
                        const std::string& proxy, double tau, const std::string& scope) {
  proxy_legality_from({}, {}, {}, tau, scope);  // checks tau and scope before the expensive part
  return proxy_legality_from(compute_proxy(reference, batch, proxy),
                             compute_proxy(candidate, batch, proxy), transformed_layers, tau,
                             scope);
}

Legality proxy_legality_from(const ProxyResult& ref, const ProxyResult& cand,
                             const std::vector<std::string>& transformed_layers, double tau,
                             const std::string& scope) {
  NASX_USER_CHECK(scope == "block" || scope == "network", "--scope must be block or network, got '",
                  scope, "'");
  NASX_USER_CHECK(tau > 0 && std::isfinite(tau), "--tau must be positive and finite, got ", tau);
  const std::string& proxy = ref.proxy;
  auto verdict = [&](const std::string& name, double r, double c) {
    double ratio = r != 0 ? c / r : (c == 0 ? 1.0 : INFINITY);
    return ProxyRatio{name, name, r, c, ratio, ratio >= tau};
  };
  // The network's ratio must be defined: an original whose proxy is 0 (or not finite) on this
  // minibatch gives no evidence, and 0/0 read as "unchanged" called every candidate legal (e.g.
  // Fisher at --batch 1, where batch norm zeroes every activation). A block's 0/0 stays 1: a
  // block the proxy does not see is unchanged by definition.
  NASX_USER_CHECK(
      proxy.empty() || (ref.total != 0 && std::isfinite(ref.total)), proxy,
      " of the original network is ", ref.total,
      " on this minibatch, so its ratio is undefined: no verdict (use a larger --batch, "
      "at least 2 with batch norm, or another --proxy)");
  Legality l{proxy, scope, tau, verdict("network", ref.total, cand.total), {}, {}, true};
  std::set<std::string> used;
  for (const std::string& layer : transformed_layers) {
    const BlockValue* rb = nullptr;
    const BlockValue* cb = nullptr;
    for (size_t i = 0; i < ref.blocks.size(); ++i)
      if (in_block(layer, ref.blocks[i].name) &&
          (!rb || ref.blocks[i].name.size() > rb->name.size())) {
        rb = &ref.blocks[i];
        cb = &cand.blocks[i];
      }
    ProxyRatio v = (scope == "block" && rb) ? verdict(rb->name, rb->value, cb->value) : l.network;
    if (scope == "block" && rb && used.insert(rb->name).second) l.blocks.push_back(v);
    v.by = v.name;
    v.name = layer;
    l.layers.push_back(v);
    l.legal = l.legal && v.legal;
  }
  l.legal = l.legal && l.network.legal;
  return l;
}

}  // namespace nasx
