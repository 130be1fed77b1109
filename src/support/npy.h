// NumPy .npy files of float32 (little-endian, C order), versions 1.0-3.0 read, 1.0 written.
// A malformed, truncated or non-float32 file is a UserError naming the file and the problem.
// Writes go to a temporary file renamed into place, so a failed write leaves nothing behind.
#pragma once

#include <string>

#include "support/tensor.h"

namespace nasx {

Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);

}  // namespace nasx
