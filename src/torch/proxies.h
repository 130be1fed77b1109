// Zero-cost proxies of a network's capacity, computed without training on one minibatch with the
// weights at initialisation, and the legality test built on them.
//
// Blocks. A ResNet/ResNeXt block's output activation is its residual branch before the add (the
// first input of each residual add: bn2 in a basic block, bn3 in a bottleneck); a DenseNet
// block is a dense layer, whose output activation is its new features (the last input of each
// dense-layer concat: conv2's output). A block is named by its add or concat without the last
// part (layer2.1, features.denseblock1.denselayer3); a layer belongs to the block whose name
// prefixes its own.
//
// Proxies (selected by name):
//  fisher     BlockSwap's Fisher Potential: for block output a (N,C,H,W) and g = dLoss/da, the
//             block's value is sum_c 0.5 * mean_n (sum_{h,w} a*g)^2; the total sums the blocks.
//             Train mode (batch statistics), cross-entropy loss.
//  grad_norm  sum over convolution and linear weights of ||dLoss/dW||_2 (train mode, CE loss).
//  snip       sum over those weights of |W * dLoss/dW| (train mode, CE loss).
//  synflow    sum over those weights of |W * dR/dW| with every parameter replaced by its absolute
//             value, an all-ones input of batch 1, R the sum of the outputs, batch norm in
//             inference mode (the identity at initialisation); in double precision.
//  naswot     log|det K| with K = C C^T + (1 - C)(1 - C)^T over the minibatch's binary ReLU
//             codes C (train mode). Blocks use their own ReLUs; the total uses all ReLUs (it is
//             not the sum of the blocks).
//  zico       ZiCo (Li et al., ICLR 2023): the minibatch split in 4 equal parts, one gradient
//             per part; per convolution/linear weight, log of the sum over its elements of
//             mean|g| / std(g) across the parts (elements with std 0 skipped); the total sums the
//             layers (train mode, CE loss). Needs a minibatch of at least 8.
//  params     the parameter count (every tensor but batch-norm running statistics), the naive
//             baseline most zero-cost proxies fail to beat (ZiCo's survey).
// Every proxy is deterministic for a given network, minibatch and thread count.
#pragma once

#include <string>
#include <vector>

#include "graph/network.h"
#include "torch/datasets.h"

namespace nasx {

struct BlockValue {
  std::string name;
  double value = 0;
};

struct ProxyResult {
  std::string proxy;
  double total = 0;
  std::vector<BlockValue> blocks;
};

// The proxies' names, in the order every list shows them, and that list as text for messages and
// help ("fisher, grad_norm, ..., params"; `last` goes before the last name, e.g. " or ").
const std::vector<std::string>& proxy_names();
std::string proxy_list(const std::string& last = ", ");

struct ProxyBlock {
  std::string name;
  int activation = -1;  // node whose output is the block's output activation
};
std::vector<ProxyBlock> find_blocks(const Network& net);

// UserError for an unknown proxy or a minibatch that does not fit the network.
ProxyResult compute_proxy(const Network& net, const Minibatch& batch, const std::string& proxy);

// Several proxies of one network on one minibatch, in the order asked. The gradient proxies
// (fisher, snip, grad_norm) share one forward and one backward pass: a rule voting with Fisher
// and SNIP pays for one backward pass per sample, not two. Each value equals compute_proxy's.
std::vector<ProxyResult> compute_proxies(const Network& net, const Minibatch& batch,
                                         const std::vector<std::string>& proxies);
bool shares_gradient_pass(const std::string& proxy);

struct ProxyRatio {
  std::string name;  // block or layer
  std::string by;    // a layer's: the name judging it (its block, or "network")
  double reference = 0, candidate = 0, ratio = 0;
  bool legal = false;
};

struct Legality {
  std::string proxy, scope;
  double tau = 1;
  ProxyRatio network;
  std::vector<ProxyRatio> blocks;  // blocks containing a transformed layer
  std::vector<ProxyRatio> layers;  // each transformed layer, judged by its block or the network
  bool legal = false;
};

// Candidate against reference, on the same minibatch. scope "block": each transformed layer must
// keep its block's value (ratio >= tau; layers outside every block are judged by the network);
// scope "network": the network's total must keep ratio >= tau. The network's ratio is always
// reported and, in block scope, must hold too.
// The same judgement from proxy results already computed (the reference's is reused across
// candidates).
Legality proxy_legality_from(const ProxyResult& reference, const ProxyResult& candidate,
                             const std::vector<std::string>& transformed_layers, double tau,
                             const std::string& scope);

Legality proxy_legality(const Network& reference, const Network& candidate,
                        const std::vector<std::string>& transformed_layers, const Minibatch& batch,
                        const std::string& proxy, double tau, const std::string& scope);

}  // namespace nasx
