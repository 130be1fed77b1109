// Verification by training: does a transformed network keep the accuracy of its original? Both
// are trained with one recipe (TrainOptions: the proxy experiment's by default), the original
// with several seeds to measure the training noise, and the transformed network's test accuracy
// is compared with the original's mean. The criterion is the one docs/legality.md calibrates on:
// a network loses when it is more than `tolerance` points (1) below the original's mean beyond
// the noise (half the range of the original's seeds).
//
// Output folder (resumable; a run killed at any point continues where it stopped):
//   verify.json         what is verified (the architecture and the recipe), then the result
//   runs.jsonl          one line per finished training: network, seed, test accuracy, seconds
//   original.seedK/     nasx train checkpoints (torch/train.h)
//   transformed.seedK/
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/arch.h"
#include "support/json.h"
#include "support/json_in.h"
#include "torch/train.h"

namespace nasx {

struct VerifyOptions {
  TrainOptions recipe;  // data, epochs, batch, subset, test_subset, lr (seed and out: per run)
  int64_t seeds = 3;    // the original is trained with seeds 0..seeds-1
  int64_t transformed_seeds = 1;  // the transformed network with seeds 0..transformed_seeds-1
  double tolerance = 1.0;         // points beyond the noise
  std::string out = "nasx-verify";
  VerifyOptions();  // the experiment's recipe: 10 epochs, 10,000 examples, 2,000 test examples
};

struct VerifyRun {
  std::string network;  // "original" | "transformed"
  uint64_t seed = 0;
  double test_accuracy = 0;  // on the whole test split
  double seconds = 0;
  int64_t params = 0;
  Json to_json() const;
  static VerifyRun from_json(const JsonIn& j);
};

struct VerifyReport {
  Json arch;    // the transformed architecture (Arch::to_json, width as verified)
  Json recipe;  // TrainOptions::to_json without the seed
  double tolerance = 1.0;
  std::vector<VerifyRun> original, transformed;
  double original_mean = 0, noise = 0, transformed_mean = 0, difference = 0;  // points
  int64_t original_params = 0, transformed_params = 0;
  // "within noise": |difference| <= noise; "kept": better beyond the noise, or a loss of at most
  // `tolerance` beyond it; "lost": a loss of more than `tolerance` beyond the noise.
  std::string verdict;
  double seconds = 0;  // all trainings
  Json to_json() const;
  static VerifyReport from_json(const JsonIn& j);
  std::string summary() const;  // one line: the verdict and its numbers
};

// What each training reports as it runs: which of how many, and the time left in all.
struct VerifyProgress {
  int64_t run = 0, runs = 0;  // 1-based
  std::string network;
  uint64_t seed = 0;
  TrainProgress train;
  double left_all = 0;  // seconds, an estimate from the trainings so far
};

// Trains what is missing in options.out and returns the comparison. `arch` is the transformed
// network; its original is the same base without steps. UserError when the folder holds the
// verification of another architecture or recipe.
VerifyReport verify_architecture(const Arch& arch, const VerifyOptions& options,
                                 const std::function<void(const VerifyProgress&)>& progress);

// The verdict of a comparison (exposed for tests).
std::string verify_verdict(double difference, double noise, double tolerance);

// Markdown section for a search report.
std::string verify_markdown(const VerifyReport& r);

}  // namespace nasx
