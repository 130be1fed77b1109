// nasx export MODEL|ARCH.json [--pytorch model.py] [--onnx model.onnx] [--weights W]
//   [--save-weights DIR]
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/pytorch_export.h"
#include "graph/weights.h"
#include "support/file.h"

namespace nasx::cli {
namespace {

struct ExportArgs {
  std::string model, pytorch, onnx, weights, save_weights;
  double width = 0;
  uint64_t seed = 0;
};

int run_export(const ExportArgs& a) {
  NASX_USER_CHECK(!a.pytorch.empty() || !a.onnx.empty(),
                  "nothing to export: give --pytorch FILE.py or --onnx FILE.onnx");
  NASX_USER_CHECK(a.pytorch.empty() || (a.pytorch.size() > 3 &&
                                        a.pytorch.compare(a.pytorch.size() - 3, 3, ".py") == 0),
                  "--pytorch must name a .py file, got '", a.pytorch, "'");
  NASX_USER_CHECK(a.onnx.empty() || is_onnx_path(a.onnx), "--onnx must name a .onnx file, got '",
                  a.onnx, "'");
  Network net = load_model(a.model, a.seed, 0, a.width);
  if (!a.weights.empty()) load_weights(net, a.weights, false);
  // Both files are built before either is written, so a failure leaves neither half-done.
  std::string py = a.pytorch.empty() ? "" : pytorch_module_source(net);
  std::string onnx = a.onnx.empty() ? "" : onnx_model_bytes(net);
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
      app.add_subcommand("export", "Write a network as a PyTorch module or ONNX (and weights)");
  c->add_option("model", a->model, "zoo model name, ARCH.json or .onnx file")->required();
  c->add_option("--pytorch", a->pytorch, "write a self-contained PyTorch nn.Module (.py)");
  c->add_option("--onnx", a->onnx, "write an ONNX model (opset 13) with the weights (.onnx)");
  c->add_option("--weights", a->weights,
                "load these weights first (a folder of <layer>.<param>.npy)");
  c->add_option("--save-weights", a->save_weights,
                "also write the network's weights as <layer>.<param>.npy into this folder");
  c->add_option("--width", a->width, "scale every channel count (default 1)")
      ->check(number_in(0, kMaxWidth, true));
  c->add_option("--seed", a->seed, "seed of the weights of a zoo model (default 0)")
      ->check(integer_in(0, kMaxSeed));
  return [a] { return run_export(*a); };
}

}  // namespace nasx::cli
