// Datasets, as minibatches shaped for a model's input. Nothing is downloaded:
//  - fashion-mnist (the default): Debian's dataset-fashion-mnist, IDX files compressed with gzip
//    under /usr/share/datasets/fashion-mnist (override the directory with fashion-mnist:DIR).
//    28x28 grey images are zero-padded to 32x32 for 32x32 models, bilinearly resized for other
//    sizes, and replicated to 3 channels when the model takes 3. Normalised with the training
//    set's mean 0.2860 and std 0.3530 (after padding, so the border is (0 - mean) / std).
//  - cifar10:DIR: CIFAR-10's binary format (data_batch_1.bin ... data_batch_5.bin, test_batch.bin,
//    records of 1 label byte + 3072 pixel bytes), normalised per channel with the usual
//    mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616); resized for other sizes.
//  - synthetic: seeded standard-normal images and uniform labels.
// A minibatch is drawn without replacement by a seeded permutation of the split.
// Malformed, truncated or missing files, and a batch larger than the split, are UserErrors.
#pragma once

#include <string>
#include <vector>

#include "support/tensor.h"

namespace nasx {

struct DatasetSpec {
  std::string kind = "fashion-mnist";                 // fashion-mnist | cifar10 | synthetic
  std::string dir;                                    // for fashion-mnist (optional) and cifar10
  bool train = true;                                  // training split, else test split
  static DatasetSpec parse(const std::string& text);  // "fashion-mnist", "cifar10:DIR", ...
  std::string to_string() const;
};

struct Minibatch {
  Tensor images;                // [N, C, H, W], normalised
  std::vector<int64_t> labels;  // N class indices
};

// A minibatch for a model taking [N, chw[0], chw[1], chw[2]] with `classes` outputs.
Minibatch load_minibatch(const DatasetSpec& spec, const Shape& chw, int64_t classes, int64_t batch,
                         uint64_t seed);

// A whole split (limit 0), or `limit` examples of it drawn by the seeded permutation; in the
// permutation's order. The synthetic "splits" hold 2048 (train) and 512 (test) images.
Minibatch load_split(const DatasetSpec& spec, const Shape& chw, int64_t classes, int64_t limit,
                     uint64_t seed);

// Training augmentation: random crop with zero padding `pad` and horizontal flip, seeded.
Tensor augment(const Tensor& images, int64_t pad, uint64_t seed);

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace nasx
