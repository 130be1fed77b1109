// Training and evaluation with LibTorch, on the network's own graph and weights (the twin's
// operators with autograd). The recipe is the usual CIFAR one: SGD with Nesterov momentum 0.9,
// weight decay 5e-4 on every parameter, a cosine learning rate per step from --lr to 0, random
// crop (zero padding 4) and horizontal flip, cross-entropy; batch norm in training mode with
// running statistics updated (momentum 0.1). Every random choice (the training subset, each
// epoch's order, each step's crops and flips) is drawn from --seed, so a run is reproducible for
// a given thread count, and a resumed run continues exactly where the checkpoint left it.
//
// Checkpoint directory (written after every epoch):
//   checkpoint.json     {"format": "nasx-checkpoint", "version": 1, "model", "network", "epoch",
//                        "options", "history", "state"}  (replaced atomically, last)
//   epoch-E/weights/    <layer>.<param>.npy for every tensor, running statistics included (what
//                       --weights reads)
//   epoch-E/optimizer.pt  the momentum buffers
// The previous epoch's directory is removed once checkpoint.json names the new one, so a run
// killed at any point leaves a complete checkpoint.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/network.h"
#include "support/json.h"
#include "torch/datasets.h"

namespace nasx {

struct TrainOptions {
  DatasetSpec data;  // the training split is used; the test split evaluates every epoch
  int64_t epochs = 10, batch = 128;
  int64_t subset = 0;       // train on this many examples of the training split (0: all of it)
  int64_t test_subset = 0;  // evaluate each epoch on this many test examples (0: all of them)
  double lr = 0.1;
  uint64_t seed = 0;
  std::string model;  // what the checkpoint was trained from (checked on --resume)
  double width = 0;   // the --width it was trained with (0: the model's own), recorded for eval
  std::string out;    // checkpoint directory
  bool resume = false;
  Json to_json() const;  // what must match on --resume
};

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  double loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0;
  Json to_json() const;
};

struct TrainProgress {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
  double loss = 0;               // running mean over the epoch so far
  double elapsed = 0, left = 0;  // seconds, this run
};

// Trains `net` in place (its parameters and running statistics). Returns every epoch's stats
// (those of a resumed run included). UserError for bad options, a checkpoint that does not match
// (another model or options) and an unreadable checkpoint.
std::vector<EpochStats> train_network(Network& net, const TrainOptions& options,
                                      const std::function<void(const TrainProgress&)>& progress,
                                      const std::function<void(const EpochStats&)>& epoch_done);

// Top-1 accuracy (percent) of the network on the examples, in inference mode, with LibTorch.
double torch_accuracy(const Network& net, const Minibatch& examples, int64_t batch = 256);

// The same with nasx's compiled runtime (BN folded, fused, blocked kernels): batches of `batch`,
// the last one zero-padded (images are independent in inference, so padding changes nothing).
double compiled_accuracy(const Network& net, const Minibatch& examples, int64_t batch = 256);

// Where training and torch_accuracy run: "cuda" when the LibTorch nasx was built with has CUDA
// and a GPU is present (NASX_DEVICE=cpu forces the CPU), else "cpu".
std::string training_device_name();

// The weights folder of a checkpoint directory (from its checkpoint.json), or `dir` itself
// when it has no checkpoint.json (a plain folder of .npy files).
std::string checkpoint_weights(const std::string& dir);

// What a nasx train checkpoint records of its network: the network's name and the --width it was
// trained with (0: none given, or a checkpoint older than this field). nullopt for a folder
// without checkpoint.json; UserError for a corrupt one.
struct CheckpointInfo {
  std::string model, network;
  double width = 0;
};
std::optional<CheckpointInfo> checkpoint_info(const std::string& dir);

}  // namespace nasx
