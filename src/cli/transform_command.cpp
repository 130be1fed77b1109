// nasx transform MODEL --apply 'LAYERS: SEQUENCE' [--apply ...] --out ARCH.json
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/arch.h"
#include "graph/onnx_import.h"
#include "graph/zoo.h"
#include "support/format.h"
#include "support/json.h"

namespace nasx::cli {
namespace {

struct TransformArgs {
  std::string model, out;
  std::vector<std::string> apply;
  uint64_t seed = 0;
  double width = 0;  // 0: the model's own
  bool json = false;
};

int run_transform(const TransformArgs& a) {
  NASX_USER_CHECK(!a.apply.empty(), "nothing to do: give at least one --apply 'LAYERS: SEQUENCE'");
  NASX_USER_CHECK(is_arch_file(a.out), "--out must name a .json file, got '", a.out, "'");
  Arch arch;
  if (is_arch_file(a.model)) {
    arch = Arch::read(a.model);  // transform further
  } else {
    NASX_USER_CHECK(is_zoo_model(a.model) || is_onnx_path(a.model), "unknown model '", a.model,
                    "' (a zoo name from 'nasx models', an ARCH.json or an .onnx file)");
    arch.base = arch_base(a.model);
    arch.seed = a.seed;
  }
  if (a.width > 0) arch.width = a.width;
  Network before = arch.build();
  Network net = before;
  size_t first_new = arch.steps.size();
  for (const std::string& spec : a.apply) apply_to_layers(net, arch, spec);
  arch.write(a.out);  // only after every transformation succeeded

  Json layers = Json::array();
  for (size_t i = first_new; i < arch.steps.size(); ++i)
    for (const std::string& name : arch.steps[i].layers) {
      const Node& b = before.nodes[before.find(name)];
      const Node& n = net.nodes[net.find(name)];
      layers.push_back({{"layer", name},
                        {"sequence", arch.steps[i].sequence},
                        {"params_before", param_count(b.op)},
                        {"params_after", param_count(n.op)}});
    }
  Json j{{"out", a.out},
         {"base", arch.base},
         {"params_before", before.params()},
         {"params_after", net.params()},
         {"macs_before", before.macs()},
         {"macs_after", net.macs()},
         {"layers", layers}};
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const Json& l : layers)
    std::printf("  %-28s %-28s %12s -> %s params\n", l["layer"].get<std::string>().c_str(),
                l["sequence"].get<std::string>().c_str(),
                with_commas(l["params_before"].get<int64_t>()).c_str(),
                with_commas(l["params_after"].get<int64_t>()).c_str());
  std::printf("%s: parameters %s -> %s, MACs %s -> %s\nwrote %s\n", arch.base.c_str(),
              with_commas(before.params()).c_str(), with_commas(net.params()).c_str(),
              with_commas(before.macs()).c_str(), with_commas(net.macs()).c_str(), a.out.c_str());
  return 0;
}

}  // namespace

Runner add_transform_command(CLI::App& app) {
  auto args = std::make_shared<TransformArgs>();
  CLI::App* t = app.add_subcommand(
      "transform", "Apply neural transformations to layers and write an architecture file");
  t->add_option("model", args->model, "zoo model name, or an ARCH.json to transform further")
      ->required();
  t->add_option("--apply", args->apply,
                "'LAYERS: SEQUENCE', LAYERS a name or glob (layer3.*.conv1), SEQUENCE as in "
                "'split(4); group([1,2,4,8])'; repeatable, applied in order")
      ->required();
  t->add_option("--out", args->out, "architecture file to write (.json)")->required();
  t->add_option("--seed", args->seed, "seed of the base model's weights (default 0)")
      ->check(integer_in(0, kMaxSeed));
  t->add_option("--width", args->width,
                "scale every channel count of the base model (default 1; recorded in ARCH.json)")
      ->check(number_in(0, kMaxWidth, true));
  t->add_flag("--json", args->json, "print JSON");
  return [args] { return run_transform(*args); };
}

}  // namespace nasx::cli
