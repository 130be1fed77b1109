// nasx fisher | legal: zero-cost proxies on one minibatch, and the legality of transformations.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "cli/rule_options.h"
#include "graph/arch.h"
#include "runtime/compiled_op.h"
#include "search/legality.h"
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
  std::string arch, data = "fashion-mnist";
  RuleArgs rule;
  int64_t batch = 64;
  bool json = false;
};

// The verdict of a legality rule on an architecture's transformations: sample k pairs the base
// model and the candidate with weights and minibatch from the architecture's seed + k
// (PairedJudge, as the search judges).
int run_legal(const LegalArgs& a) {
  set_torch_threads(kernel_threads());
  NASX_USER_CHECK(is_arch_file(a.arch),
                  "nasx legal takes an architecture file (ARCH.json from "
                  "nasx transform), got '",
                  a.arch, "'");
  LegalityRule rule = a.rule.resolve();
  Arch arch = Arch::read(a.arch);
  Arch base = arch;
  base.steps.clear();
  base.build();  // a base that does not build is a UserError before any proxy runs
  PairedJudge judge =
      make_arch_judge(base, a.arch, DatasetSpec::parse(a.data), rule, a.batch, arch.seed, "");
  PairedVerdict v = judge.judge(arch.steps, rule.scope);
  NASX_USER_CHECK(v.rejected.empty(), a.arch, ": its steps do not apply: ", v.rejected);
  auto mean_of = [](const std::vector<double>& r) {
    double m = 0;
    for (double x : r) m += x;
    return m / double(r.size());
  };
  if (a.json) {
    Json judged = Json::array(), layers = Json::array();
    for (const auto& [name, r] : v.ratios) {
      double m = mean_of(r);
      Json ratios = Json::array();
      for (double x : r) ratios.push_back(ratio_json(x));
      judged.push_back({{"name", name},
                        {"ratios", ratios},
                        {"mean", ratio_json(m)},
                        {"legal", !std::isnan(m) && m >= rule.tau}});
    }
    for (const auto& [layer, by] : v.judged_by) layers.push_back({{"name", layer}, {"by", by}});
    std::cout << Json{{"arch", a.arch},
                      {"rule", rule.to_json()},
                      {"legal", v.legal},
                      {"binding", v.binding},
                      {"mean", ratio_json(v.mean)},
                      {"min", ratio_json(v.min)},
                      {"max", ratio_json(v.max)},
                      {"uncertain", v.uncertain()},
                      {"judged", judged},
                      {"layers", layers}}
                     .dump(2)
              << "\n";
    return v.legal ? 0 : 1;
  }
  std::printf(
      "%s against %s: rule %s (%s, tau %g, %d sample%s, scope %s), minibatch of %lld from "
      "%s\n",
      a.arch.c_str(), arch.base.c_str(), rule.name.c_str(), rule.proxy_list().c_str(), rule.tau,
      rule.samples, rule.samples == 1 ? "" : "s", rule.scope.c_str(), (long long)a.batch,
      a.data.c_str());
  for (const auto& [layer, by] : v.judged_by)
    std::printf("  %-40s judged by %s\n", layer.c_str(), by.c_str());
  std::printf("  %-40s %8s  %-24s %s\n", "judged", "mean", "ratio per sample", "verdict");
  for (const auto& [name, r] : v.ratios) {
    std::string per;
    for (double x : r) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", x);
      per += (per.empty() ? "" : " ") + std::string(buf);
    }
    double m = mean_of(r);
    std::printf("  %-40s %8.3f  %-24s %s\n", name.c_str(), m, per.c_str(),
                !std::isnan(m) && m >= rule.tau ? "legal" : "ILLEGAL");
  }
  std::printf("%s (binding: %s, mean %.3f, min %.3f, max %.3f%s)\n",
              v.legal ? "legal: every transformation keeps its capacity"
                      : "illegal: some transformation loses capacity",
              v.binding.c_str(), v.mean, v.min, v.max,
              v.uncertain() ? "; tau is inside the spread of the samples" : "");
  return v.legal ? 0 : 1;
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
  add_width_option(fc, f->width);
  fc->add_option("--proxy", f->proxy, proxy_list(" or ") + " (default fisher)");
  fc->add_flag("--json", f->json, "print JSON");
  out.emplace_back("fisher", [f] { return run_fisher(*f); });

  auto l = std::make_shared<LegalArgs>();
  CLI::App* lc = app.add_subcommand(
      "legal", "Are an architecture's transformations legal by a legality rule (capacity kept)?");
  lc->add_option("arch", l->arch, "ARCH.json from nasx transform")->required();
  l->rule.add_to(lc);
  lc->add_option("--data", l->data, "dataset, as for nasx fisher");
  lc->add_option("--batch", l->batch, "minibatch size (default 64)")
      ->check(integer_in(1, kMaxBatch));
  lc->add_flag("--json", l->json, "print JSON");
  out.emplace_back("legal", [l] { return run_legal(*l); });
  return out;
}

}  // namespace nasx::cli
