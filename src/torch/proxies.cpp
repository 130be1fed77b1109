#include "torch/proxies.h"

#include <algorithm>
#include <cmath>
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

const std::vector<std::string>& proxy_names() {
  static const std::vector<std::string> names = {"fisher", "grad_norm", "snip",  "synflow",
                                                 "naswot", "zico",      "params"};
  return names;
}

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

void check_proxy_name(const std::string& proxy) {
  NASX_USER_CHECK(
      std::find(proxy_names().begin(), proxy_names().end(), proxy) != proxy_names().end(),
      "unknown proxy '", proxy,
      "' (known: fisher, grad_norm, snip, synflow, naswot, zico, params)");
}

void check_minibatch(const Network& net, const Minibatch& batch) {
  int64_t n = batch.images.shape.at(0);
  NASX_USER_CHECK(batch.images.shape == net.input_shape(n), "the minibatch ",
                  shape_string(batch.images.shape), " does not fit ", net.name, "'s input ",
                  shape_string(net.input_shape(n)));
  NASX_USER_CHECK(static_cast<int64_t>(batch.labels.size()) == n, "one label per image expected");
}

// Fisher, SNIP and grad_norm from one forward and one backward pass (train mode, cross-entropy
// loss): the block activations keep their gradients (Fisher), the weights theirs (SNIP,
// grad_norm). The input is tracked too, so the graph exists even for a network without weights.
// (Detaching the activations into leaves would cut the paths from the loss to earlier blocks.)
std::vector<ProxyResult> gradient_proxies(const Network& net, const Minibatch& batch,
                                          const std::vector<std::string>& proxies) {
  std::vector<ProxyBlock> blocks = find_blocks(net);
  bool weights_needed = false;
  for (const std::string& p : proxies) weights_needed = weights_needed || p != "fisher";
  TorchParams params(net, weights_needed);
  torch::Tensor labels = torch::tensor(batch.labels, torch::kInt64);
  torch::Tensor images = to_torch(batch.images);
  images.requires_grad_(true);
  std::vector<torch::Tensor> v = forward_graph(net, params, images, true);
  for (const ProxyBlock& b : blocks) v[b.activation].retain_grad();
  torch::cross_entropy_loss(v.back(), labels).backward();
  std::vector<std::pair<int, int>> ws = weights(net);
  std::vector<ProxyResult> out;
  for (const std::string& proxy : proxies) {
    ProxyResult r{proxy, 0, {}};
    if (proxy == "fisher") {
      for (const ProxyBlock& b : blocks) {
        torch::Tensor a = v[b.activation], g = a.grad();
        double value =
            g.defined() ? (0.5 * (a * g).sum({2, 3}).pow(2).mean(0).sum()).item<double>() : 0.0;
        r.blocks.push_back({b.name, value});
        r.total += value;
      }
    } else {
      std::vector<double> per_block(blocks.size(), 0);
      for (auto [node, t] : ws) {
        const torch::Tensor& w = params.values[node][t];
        double value = proxy == "grad_norm" ? w.grad().norm().item<double>()
                                            : (w * w.grad()).abs().sum().item<double>();
        r.total += value;
        for (size_t b = 0; b < blocks.size(); ++b)
          if (in_block(net.nodes[node].name, blocks[b].name)) per_block[b] += value;
      }
      for (size_t b = 0; b < blocks.size(); ++b) r.blocks.push_back({blocks[b].name, per_block[b]});
    }
    out.push_back(std::move(r));
  }
  return out;
}

// naswot, zico, params and synflow: each its own pass.
ProxyResult other_proxy(const Network& net, const Minibatch& batch, const std::string& proxy) {
  int64_t n = batch.images.shape.at(0);
  std::vector<ProxyBlock> blocks = find_blocks(net);
  ProxyResult r{proxy, 0, {}};
  torch::Tensor labels = torch::tensor(batch.labels, torch::kInt64);
  torch::Tensor images = to_torch(batch.images);

  if (proxy == "naswot") {
    TorchParams params(net, false);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> v = forward_graph(net, params, images, true);
    std::vector<torch::Tensor> all;
    for (const ProxyBlock& b : blocks) {
      std::vector<torch::Tensor> codes;
      for (size_t i = 0; i < net.nodes.size(); ++i)
        if (std::holds_alternative<Relu>(net.nodes[i].op) && in_block(net.nodes[i].name, b.name))
          codes.push_back((v[i] > 0).reshape({n, -1}));
      r.blocks.push_back({b.name, codes.empty() ? 0.0 : logdet_kernel(codes)});
    }
    for (size_t i = 0; i < net.nodes.size(); ++i)
      if (std::holds_alternative<Relu>(net.nodes[i].op)) all.push_back((v[i] > 0).reshape({n, -1}));
    r.total = all.empty() ? 0.0 : logdet_kernel(all);
    return r;
  }

  std::vector<std::pair<int, int>> ws = weights(net);
  auto add = [&](std::vector<double>& per_block, int node, double value) {
    r.total += value;
    for (size_t b = 0; b < blocks.size(); ++b)
      if (in_block(net.nodes[node].name, blocks[b].name)) per_block[b] += value;
  };
  auto finish = [&](const std::vector<double>& per_block) {
    for (size_t b = 0; b < blocks.size(); ++b) r.blocks.push_back({blocks[b].name, per_block[b]});
    return r;
  };

  if (proxy == "params") {  // every parameter of the layers, biases and batch norms included
    std::vector<double> per_block(blocks.size(), 0);
    for (size_t i = 0; i < net.nodes.size(); ++i)
      add(per_block, int(i), double(param_count(net.nodes[i].op)));
    return finish(per_block);
  }

  if (proxy == "zico") {
    // Gradients of kZicoParts equal parts of the minibatch: per layer weight, the sum over its
    // elements of mean|g| / std(g) across the parts, and log of that sum (skipped when 0).
    constexpr int64_t kZicoParts = 4;
    NASX_USER_CHECK(n >= 2 * kZicoParts, "zico needs a minibatch of at least ", 2 * kZicoParts,
                    " images (", kZicoParts, " parts), got ", n);
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
    std::vector<double> per_block(blocks.size(), 0);
    for (size_t w = 0; w < ws.size(); ++w) {
      torch::Tensor g = torch::stack(grads[w]).to(torch::kFloat64);  // [parts, ...]
      torch::Tensor sd = g.std(0, /*unbiased=*/false), mean_abs = g.abs().mean(0);
      torch::Tensor nonzero = sd != 0;
      double sum =
          (mean_abs.masked_select(nonzero) / sd.masked_select(nonzero)).sum().item<double>();
      if (sum > 0) add(per_block, ws[w].first, std::log(sum));
    }
    return finish(per_block);
  }

  // synflow: its own pass (absolute weights, an all-ones input, double precision).
  TorchParams params(net, true, true, torch::kFloat64);
  torch::Tensor ones = torch::ones(net.input_shape(1), torch::kFloat64);
  forward_graph(net, params, ones, false).back().sum().backward();
  std::vector<double> per_block(blocks.size(), 0);
  for (auto [node, t] : ws) {
    const torch::Tensor& w = params.values[node][t];
    add(per_block, node, (w * w.grad()).abs().sum().item<double>());
  }
  return finish(per_block);
}

}  // namespace

bool shares_gradient_pass(const std::string& proxy) {
  return proxy == "fisher" || proxy == "snip" || proxy == "grad_norm";
}

std::vector<ProxyResult> compute_proxies(const Network& net, const Minibatch& batch,
                                         const std::vector<std::string>& proxies) {
  std::vector<std::string> shared;
  for (const std::string& p : proxies) {
    check_proxy_name(p);
    if (shares_gradient_pass(p)) shared.push_back(p);
  }
  check_minibatch(net, batch);
  std::vector<ProxyResult> out(proxies.size());
  if (!shared.empty()) {
    std::vector<ProxyResult> g = gradient_proxies(net, batch, shared);
    for (size_t i = 0, k = 0; i < proxies.size(); ++i)
      if (shares_gradient_pass(proxies[i])) out[i] = std::move(g[k++]);
  }
  for (size_t i = 0; i < proxies.size(); ++i)
    if (!shares_gradient_pass(proxies[i])) out[i] = other_proxy(net, batch, proxies[i]);
  return out;
}

ProxyResult compute_proxy(const Network& net, const Minibatch& batch, const std::string& proxy) {
  return compute_proxies(net, batch, {proxy}).front();
}

Legality judge(const Network& reference, const Network& candidate,
               const std::vector<std::string>& transformed_layers, const Minibatch& batch,
               const std::string& proxy, double tau, const std::string& scope) {
  judge_results({}, {}, {}, tau, scope);  // checks tau and scope before the expensive part
  return judge_results(compute_proxy(reference, batch, proxy),
                       compute_proxy(candidate, batch, proxy), transformed_layers, tau, scope);
}

Legality judge_results(const ProxyResult& ref, const ProxyResult& cand,
                       const std::vector<std::string>& transformed_layers, double tau,
                       const std::string& scope) {
  NASX_USER_CHECK(scope == "block" || scope == "network", "--scope must be block or network, got '",
                  scope, "'");
  NASX_USER_CHECK(tau > 0 && std::isfinite(tau), "--tau must be positive and finite, got ", tau);
  const std::string& proxy = ref.proxy;
  auto verdict = [&](const std::string& name, double r, double c) {
    double ratio = r != 0 ? c / r : (c == 0 ? 1.0 : INFINITY);
    return Verdict{name, name, r, c, ratio, ratio >= tau};
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
    Verdict v = (scope == "block" && rb) ? verdict(rb->name, rb->value, cb->value) : l.network;
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
