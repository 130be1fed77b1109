// A PyTorch state_dict saved by `torch.save(model.state_dict(), "w.pt")`: what `--weights w.pt`
// loads (graph/weights.h puts the tensors into a network with the checks every --weights source
// shares). Read without LibTorch: the zip archive with libzip, the pickle by a small interpreter
// of the opcodes and globals a state_dict uses, so the reader is fuzzed as the other parsers are.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "support/tensor.h"

namespace nasx {

// Whether --weights names such a file rather than a folder of .npy files (.pt or .pth).
bool is_torch_weights_path(const std::string& path);

// The file's tensors by state_dict key, as float32, in the file's order; num_batches_tracked
// counters are left out. A file that is not one (missing, truncated, corrupt, the pre-1.6 legacy
// format, a whole pickled module rather than its state_dict, a value that is not a floating-point
// tensor) is a UserError naming the file and, where there is one, the key.
std::vector<std::pair<std::string, Tensor>> read_torch_state_dict(const std::string& path);

// The same from the file's bytes; `path` names it in messages.
std::vector<std::pair<std::string, Tensor>> parse_torch_state_dict(const std::string& bytes,
                                                                   const std::string& path);

}  // namespace nasx
