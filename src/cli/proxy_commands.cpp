// nasx fisher | legal: zero-cost proxies on one minibatch, and the legality of transformations.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/arch.h"
#include "runtime/compiled_op.h"
#include "support/json.h"
#include "torch/proxies.h"
#include "torch/reference.h"

namespace nasx::cli {
namespace {

struct FisherArgs {
  std::string model, data = "fashion-mnist", proxy = "fisher";
  int64_t batch = 64;
  uint64_t seed = 0;
  double width = 0;
  bool json = false;
};

Minibatch minibatch_for(const Network& net, const std::string& data, int64_t batch, uint64_t seed) {
  NASX_USER_CHECK(batch > 0, "--batch must be positive, got ", batch);
  return load_minibatch(DatasetSpec::parse(data), net.input_chw, net.num_classes, batch, seed);
}

int run_fisher(const FisherArgs& a) {
  set_torch_threads(kernel_threads());
  Network net = load_model(a.model, a.seed, 0, a.width);
  Minibatch batch = minibatch_for(net, a.data, a.batch, a.seed);
  auto t0 = std::chrono::steady_clock::now();
  ProxyResult r = compute_proxy(net, batch, a.proxy);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Json blocks = Json::array();
  for (const BlockValue& b : r.blocks) blocks.push_back({{"name", b.name}, {"value", b.value}});
  if (a.json) {
    std::cout << Json{{"model", net.name},  {"proxy", r.proxy}, {"data", a.data},
                      {"batch", a.batch},   {"seed", a.seed},   {"total", r.total},
                      {"seconds", seconds}, {"blocks", blocks}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s: %s on one minibatch of %lld from %s (seed %llu), %.2f s\n", net.name.c_str(),
              r.proxy.c_str(), (long long)a.batch, a.data.c_str(), (unsigned long long)a.seed,
              seconds);
  for (const BlockValue& b : r.blocks) std::printf("  %-44s %.6g\n", b.name.c_str(), b.value);
  std::printf("  %-44s %.6g\n", "total", r.total);
  return 0;
}

struct LegalArgs {
  std::string arch, data = "fashion-mnist", proxy = "fisher", scope = "block";
  double tau = 1.0;
  int64_t batch = 64;
  bool json = false;
};

int run_legal(const LegalArgs& a) {
  set_torch_threads(kernel_threads());
  NASX_USER_CHECK(is_arch_file(a.arch),
                  "nasx legal takes an architecture file (ARCH.json from "
                  "nasx transform), got '",
                  a.arch, "'");
  Arch arch = Arch::read(a.arch);
  Network candidate = arch.build();
  Arch base = arch;
  base.steps.clear();
  Network reference = base.build();  // same seed: every unchanged weight is the same
  std::vector<std::string> layers;
  for (const ArchStep& s : arch.steps)
    layers.insert(layers.end(), s.layers.begin(), s.layers.end());
  Minibatch batch = minibatch_for(reference, a.data, a.batch, arch.seed);
  Legality l = judge(reference, candidate, layers, batch, a.proxy, a.tau, a.scope);
  auto json_of = [](const Verdict& v) {
    return Json{{"name", v.name},
                {"reference", v.reference},
                {"candidate", v.candidate},
                {"ratio", v.ratio},
                {"legal", v.legal}};
  };
  if (a.json) {
    Json layers_json = Json::array(), blocks_json = Json::array();
    for (const Verdict& v : l.layers) layers_json.push_back(json_of(v));
    for (const Verdict& v : l.blocks) blocks_json.push_back(json_of(v));
    std::cout << Json{{"arch", a.arch},        {"proxy", l.proxy},
                      {"scope", l.scope},      {"tau", l.tau},
                      {"legal", l.legal},      {"network", json_of(l.network)},
                      {"blocks", blocks_json}, {"layers", layers_json}}
                     .dump(2)
              << "\n";
  } else {
    std::printf("%s against %s: %s, scope %s, tau %g, minibatch of %lld from %s\n", a.arch.c_str(),
                arch.base.c_str(), l.proxy.c_str(), l.scope.c_str(), l.tau, (long long)a.batch,
                a.data.c_str());
    std::printf("  %-40s %14s %14s %8s  %s\n", "layer (judged by)", "reference", "candidate",
                "ratio", "verdict");
    for (const Verdict& v : l.layers)
      std::printf("  %-40s %14.6g %14.6g %8.3f  %s\n", v.name.c_str(), v.reference, v.candidate,
                  v.ratio, v.legal ? "legal" : "ILLEGAL");
    std::printf("  %-40s %14.6g %14.6g %8.3f  %s\n", "network", l.network.reference,
                l.network.candidate, l.network.ratio, l.network.legal ? "legal" : "ILLEGAL");
    std::printf("%s\n", l.legal ? "legal: every transformation keeps its capacity"
                                : "illegal: some transformation loses capacity");
  }
  return l.legal ? 0 : 1;
}

}  // namespace

std::vector<std::pair<std::string, Runner>> add_proxy_commands(CLI::App& app) {
  std::vector<std::pair<std::string, Runner>> out;
  auto f = std::make_shared<FisherArgs>();
  CLI::App* fc = app.add_subcommand(
      "fisher", "Fisher Potential (or another zero-cost proxy) per block on one minibatch");
  fc->add_option("model", f->model, "zoo model name or ARCH.json")->required();
  fc->add_option("--data", f->data,
                 "fashion-mnist (default), fashion-mnist:DIR, cifar10:DIR or synthetic");
  fc->add_option("--batch", f->batch, "minibatch size (default 64)")
      ->check(integer_in(1, kMaxBatch));
  fc->add_option("--seed", f->seed, "seed of weights and minibatch (default 0)")
      ->check(integer_in(0, kMaxSeed));
  fc->add_option("--width", f->width, "scale every channel count (default 1)")
      ->check(number_in(0, kMaxWidth, true));
  fc->add_option("--proxy", f->proxy,
                 "fisher (default), grad_norm, snip, synflow, naswot, zico or params");
  fc->add_flag("--json", f->json, "print JSON");
  out.emplace_back("fisher", [f] { return run_fisher(*f); });

  auto l = std::make_shared<LegalArgs>();
  CLI::App* lc = app.add_subcommand(
      "legal", "Are an architecture's transformations legal (capacity kept, tau x reference)?");
  lc->add_option("arch", l->arch, "ARCH.json from nasx transform")->required();
  lc->add_option("--tau", l->tau, "threshold on candidate / reference (default 1.0)");
  lc->add_option("--scope", l->scope, "block (default) or network");
  lc->add_option("--data", l->data, "dataset, as for nasx fisher");
  lc->add_option("--batch", l->batch, "minibatch size (default 64)")
      ->check(integer_in(1, kMaxBatch));
  lc->add_option("--proxy", l->proxy, "proxy (default fisher)");
  lc->add_flag("--json", l->json, "print JSON");
  out.emplace_back("legal", [l] { return run_legal(*l); });
  return out;
}

}  // namespace nasx::cli
