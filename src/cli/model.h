// What the commands accept as MODEL: a zoo name today (arch JSON and ONNX paths come with later
// issues), built from a seed.
#pragma once

#include <string>

#include "graph/network.h"

namespace nasx::cli {

Network load_model(const std::string& model, uint64_t seed, int64_t image_size = 0);

// A one-line progress note on stderr for long steps (compilation), silent with NASX_LOG=error.
void progress(const std::string& message);

}  // namespace nasx::cli
