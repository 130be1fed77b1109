// The architecture file (ARCH.json): a zoo model (or an .onnx file, whose weights it keeps), the
// seed its weights come from, and the neural transformation steps, in order: each a sequence
// applied to a set of layers together. Everything else (shapes, weights of changed layers) is
// derived, so the file is small, replayable and reviewable:
//   {"format": "nasx-arch", "version": 1, "base": "resnet34_cifar", "seed": 0,
//    "image_size": 0, "applied": ["layer2.*.conv1: group(4)"],
//    "steps": [{"layers": ["layer2.0.conv1", ...], "sequence": "group(4)"}]}
// "applied" records what the user asked; "steps" is what replays.
#pragma once

#include <string>
#include <vector>

#include "graph/network.h"
#include "support/json.h"
#include "transform/neural.h"

namespace nasx {

struct ArchStep {
  std::vector<std::string> layers;  // transformed together
  std::string sequence;             // printed form
};

// Whether a MODEL argument names an architecture file (ends in .json) rather than a zoo model.
bool is_arch_path(const std::string& model);

// What an ARCH.json records as "base" for a MODEL argument: a zoo name as it is, an .onnx file as
// an absolute path (so the ARCH.json works from any directory; UserError when it does not exist).
std::string arch_base(const std::string& model);

Json arch_steps_json(const std::vector<ArchStep>& steps);

struct Arch {
  std::string base;  // a zoo model, or an .onnx file (absolute, or relative: see read())
  uint64_t seed = 0;
  int64_t image_size = 0;
  double width = 1.0;  // the base's channel scale (ZooOptions::width); written only when not 1
  std::vector<std::string> applied;
  std::vector<ArchStep> steps;

  Json to_json() const;
  static Arch from_json(const Json& j, const std::string& origin);  // UserError when malformed
  static Arch read(const std::string& path);
  void write(const std::string& path) const;  // atomically
  Network build() const;                      // the base model, transformed
};

// Parses "LAYERS: SEQUENCE" (LAYERS comma-separated names or globs), applies the sequence to
// every matching convolution of `net` together, and records the step in `arch`. UserError on
// any failure.
void apply_to_layers(Network& net, Arch& arch, const std::string& spec);

}  // namespace nasx
