// What the commands accept as MODEL: a zoo name (built from --seed), an architecture file
// ARCH.json written by `nasx transform` (its own base, seed and transformations), or an ONNX file
// MODEL.onnx (its own weights; graph/onnx_import.h).
#pragma once

#include <string>

#include "graph/network.h"

namespace nasx::cli {

bool is_arch_file(const std::string& model);
// `width` > 0 scales the channels (of an ARCH.json's base too, before its steps replay).
Network load_model(const std::string& model, uint64_t seed, int64_t image_size = 0,
                   double width = 0);

// --weights PATH: a folder of <layer>.<param>.npy files (graph/weights.h), or a file written by
// torch.save(model.state_dict(), PATH) ending in .pt or .pth (graph/torch_save.h); the same
// checks either way. Returns how many tensors were loaded.
int64_t load_weights_file(Network& net, const std::string& path, bool partial);

// --weights given a nasx train checkpoint: the channel scale to build the model at. The
// checkpoint's --width unless `width` (> 0) is given; then they must agree (UserError naming
// both). `width` itself for anything else.
double width_for_weights(const std::string& weights, double width);
// UserError when a nasx train checkpoint was trained on another network than `net`.
void check_checkpoint_network(const Network& net, const std::string& weights);

// A one-line progress note on stderr for long steps (compilation), silent with NASX_LOG=error.
void progress(const std::string& message);

}  // namespace nasx::cli
