// The LibTorch twin of a Network: the same graph, evaluated node by node with LibTorch's
// functional operators on the same weights (copied once), in inference mode. It executes the
// network as written (no folding, no fusion), so comparing it with CompiledNetwork checks every
// runtime pass as well as every kernel.
#pragma once

#include <memory>

#include "graph/network.h"
#include "support/timing.h"

namespace nasx {

class TorchTwin {
 public:
  explicit TorchTwin(const Network& net);
  ~TorchTwin();
  Tensor forward(const Tensor& input) const;
  TimingStats time(const Tensor& input, int warmup, int repeat) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nasx
