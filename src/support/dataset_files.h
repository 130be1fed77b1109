// The dataset file formats, parsed from their bytes (no LibTorch, so they can be fuzzed):
// gzip, the IDX files of Fashion-MNIST and CIFAR-10's binary batches. Everything malformed is a
// UserError naming the file and what is wrong; nothing is allocated beyond the stated bounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nasx {

struct LabelledImages {
  int64_t count = 0, channels = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count x channels x rows x cols
  std::vector<uint8_t> labels;  // count, each below 10
};

// Decompresses gzip data (`origin` names it in messages); a stream decompressing to more than
// `max_bytes` is refused as soon as it passes the bound.
std::string gunzip(const std::string& compressed, const std::string& origin, size_t max_bytes);

// Fashion-MNIST's IDX pair: images (magic 2051, 28x28) and labels (magic 2049), one label each.
LabelledImages parse_idx(const std::string& images, const std::string& images_origin,
                         const std::string& labels, const std::string& labels_origin);

// CIFAR-10 binary batches: records of 1 label byte (0-9) and 3x32x32 pixel bytes.
LabelledImages parse_cifar(const std::string& bytes, const std::string& origin);

}  // namespace nasx
