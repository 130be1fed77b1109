// A network's tensors as a folder of <layer>.<param>.npy files (PyTorch state_dict names:
// conv1.weight, bn1.running_mean, fc.bias, ...): what --weights reads and what checkpoints hold.
// The same names and checks apply to tensors read from elsewhere (a torch.save .pt file,
// src/graph/torch_save.h) through assign_weights.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/network.h"

namespace nasx {

// Loads every parameter tensor of `net` from `dir`. A file naming no tensor of the network, a
// shape mismatch (both shapes named) and, unless `partial`, a missing tensor (named) are
// UserErrors; num_batches_tracked counters are ignored. Returns how many tensors were loaded.
int64_t load_weights(Network& net, const std::string& dir, bool partial);

// The same for tensors already read, by state_dict name, from `source` (named in the errors).
int64_t assign_weights(Network& net, std::vector<std::pair<std::string, Tensor>> tensors,
                       const std::string& source, bool partial);

// Writes every parameter tensor of `net` into `dir` (created if needed).
// The folder --save-weights names, checked before any work: new, empty or an earlier save (only
// .npy files), creatable and writable; else a UserError naming the problem.
void check_weights_dir(const std::string& dir);
void save_weights(const Network& net, const std::string& dir);

}  // namespace nasx
