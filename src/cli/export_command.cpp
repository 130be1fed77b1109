// nasx export MODEL|ARCH.json [--pytorch model.py] [--onnx model.onnx] [--lib DIR [--batch N]]
//   [--weights W] [--save-weights DIR]
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/pytorch_export.h"
#include "graph/weights.h"
#include "runtime/export_library.h"
#include "support/file.h"
#include "support/format.h"
#include "tune/tune.h"

#ifndef NASX_VERSION
#define NASX_VERSION "dev"
#endif

namespace nasx::cli {
namespace {

struct ExportArgs {
  std::string model, pytorch, onnx, lib, weights, save_weights;
  int64_t batch = 1;
  double width = 0;
  uint64_t seed = 0;
};

int run_export(const ExportArgs& a) {
  NASX_USER_CHECK(!a.pytorch.empty() || !a.onnx.empty() || !a.lib.empty(),
                  "nothing to export: give --pytorch FILE.py, --onnx FILE.onnx or --lib DIR");
  NASX_USER_CHECK(a.pytorch.empty() || (a.pytorch.size() > 3 &&
                                        a.pytorch.compare(a.pytorch.size() - 3, 3, ".py") == 0),
                  "--pytorch must name a .py file, got '", a.pytorch, "'");
  NASX_USER_CHECK(a.onnx.empty() || is_onnx_path(a.onnx), "--onnx must name a .onnx file, got '",
                  a.onnx, "'");
  NASX_USER_CHECK(a.batch == 1 || !a.lib.empty(), "--batch applies to --lib only");
  if (!a.lib.empty()) check_library_dir(a.lib);  // before any work
  if (!a.save_weights.empty()) check_weights_dir(a.save_weights);
  Network net = load_model(a.model, a.seed, 0,
                           a.weights.empty() ? a.width : width_for_weights(a.weights, a.width));
  if (!a.weights.empty()) {
    check_checkpoint_network(net, a.weights);
    load_weights_file(net, a.weights, false);
  }
  // Both files are built before either is written, so a failure leaves neither half-done.
  std::string py = a.pytorch.empty() ? "" : pytorch_module_source(net);
  std::string onnx = a.onnx.empty() ? "" : onnx_model_bytes(net);
  if (!a.lib.empty()) {
    progress("compiling " + net.name + " into a C library (batch " + std::to_string(a.batch) +
             ", " + std::to_string(net.nodes.size()) + " layers)...");
    // Kernels take their tuned knobs, as `nasx run` compiles them (tune/tune.h).
    DefaultTuning tuning;
    LibrarySummary s = export_library(net, {a.lib, a.batch, NASX_VERSION}, tuning.chooser());
    progress("wrote " + a.lib + "/libnasx_model.so (" + std::to_string(s.kernels) + " kernels, " +
             std::to_string(s.steps) + " steps, " + std::to_string(s.weight_bytes >> 10) +
             " KiB of weights, " + std::to_string(s.arena_bytes >> 10) + " KiB arena) in " +
             fmt(s.compile_seconds, "%.1f") + " s, with nasx_model.h, example.c and a Makefile");
  }
  if (!a.pytorch.empty()) {
    write_file_atomically(a.pytorch, py);
    progress("wrote " + a.pytorch + " (class Net; load_npy(model, dir) loads a weights folder)");
  }
  if (!a.onnx.empty()) {
    write_file_atomically(a.onnx, onnx);
    progress("wrote " + a.onnx + " (ONNX opset 13, with the weights)");
  }
  if (!a.save_weights.empty()) {
    save_weights(net, a.save_weights);
    progress("wrote the weights to " + a.save_weights);
  }
  return 0;
}

}  // namespace

Runner add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* c =
      app.add_subcommand("export", "Write a network as a PyTorch module, ONNX or a C library");
  c->add_option("model", a->model, "zoo model name, ARCH.json or .onnx file")->required();
  c->add_option("--pytorch", a->pytorch, "write a self-contained PyTorch nn.Module (.py)");
  c->add_option("--onnx", a->onnx, "write an ONNX model (opset 13) with the weights (.onnx)");
  c->add_option("--lib", a->lib,
                "write a C library: DIR/libnasx_model.so, nasx_model.h, example.c, Makefile");
  c->add_option("--batch", a->batch, "batch size the --lib library is compiled for (default 1)")
      ->check(integer_in(1, kMaxBatch));
  c->add_option("--weights", a->weights,
                "load these weights first (a folder of <layer>.<param>.npy, or a torch.save .pt)");
  c->add_option("--save-weights", a->save_weights,
                "also write the network's weights as <layer>.<param>.npy into this folder")
      ->check(CLI::Validator(
          [](std::string& v) { return v.empty() ? std::string("needs a folder, got ''") : ""; },
          "DIR"));
  add_width_option(c, a->width);
  c->add_option("--seed", a->seed, "seed of the weights of a zoo model (default 0)")
      ->check(integer_in(0, kMaxSeed));
  return [a] { return run_export(*a); };
}

}  // namespace nasx::cli
