// nasx search: the main job (src/search). Prints where the report is, or a JSON summary.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "cli/rule_options.h"
#include "runtime/compiled_op.h"
#include "search/search.h"
#include "support/error.h"
#include "support/format.h"
#include "support/progress.h"
#include "torch/reference.h"

namespace nasx::cli {
namespace {

struct SearchArgs {
  SearchOptions options;
  RuleArgs rule;
  std::string budget = "15m";
  int64_t seed = 0;
  bool json = false, verify = false;
};

void say_finished(const SearchOptions& o, const SearchReport& r) {
  std::fprintf(stderr,
               "nasx: the search in %s finished earlier (%d run%s, %s in all); its result below. "
               "--continue explores further with a fresh budget.\n",
               o.out_dir.c_str(), r.runs, r.runs == 1 ? "" : "s",
               format_duration(r.seconds_all_runs).c_str());
}

int run_search_command(SearchArgs& a) {
  a.options.seed = static_cast<uint64_t>(a.seed);
  a.options.budget_s = parse_duration(a.budget);
  a.options.rule = a.rule.resolve();
  set_torch_threads(kernel_threads());
  a.options.faults = SearchFaults::from_environment();
  SearchReport r = run_search(a.options);
  if (r.from_finished) say_finished(a.options, r);
  if (a.verify && !r.verification) {
    if (r.choices.empty()) {
      progress("--verify: the search changed nothing, so there is nothing to train");
    } else {
      FileLock lock = lock_search_folder(a.options.out_dir);  // its report is written again
      VerifyOptions v;
      v.out = a.options.out_dir + "/verify";
      r.verification = run_verification(a.options.out_dir + "/arch.json", 0, a.options.data, v);
      write_report(a.options.out_dir, r);
    }
  }
  if (r.verification) progress("verified by training: " + r.verification->summary());
  if (a.json) {
    Json full = r.to_json();
    Json summary{
        {"out", a.options.out_dir},
        {"speedup", {{"median", r.speedup}, {"min", r.speedup_min}, {"max", r.speedup_max}}},
        {"baseline", full["baseline"]},
        {"result", full["result"]},
        {"counts", full["counts"]},
        {"backoff_acted", r.backoff_acted},
        {"finished_earlier", r.from_finished},
        {"runs", r.runs},
        {"seconds_all_runs", r.seconds_all_runs},
        {"seconds", full["seconds"]},
        {"arch", a.options.out_dir + "/arch.json"},
        {"verification", r.verification ? r.verification->to_json() : Json()},
        {"report", a.options.out_dir + "/report.md"}};
    std::cout << summary.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: %.2fx faster end to end (%.2f-%.2fx), %.3f ms -> %.3f ms; params %s -> %s\n",
              r.model.c_str(), r.speedup, r.speedup_min, r.speedup_max,
              r.baseline.latency.median_ms, r.result.latency.median_ms,
              with_commas(r.baseline.params).c_str(), with_commas(r.result.params).c_str());
  std::printf("report: %s/report.md   architecture: %s/arch.json\n", a.options.out_dir.c_str(),
              a.options.out_dir.c_str());
  return 0;
}

}  // namespace

Runner add_search_command(CLI::App& app) {
  auto a = std::make_shared<SearchArgs>();
  SearchOptions& o = a->options;
  CLI::App* c = app.add_subcommand(
      "search", "Search for the fastest legal network: transform, judge, time, assemble, verify");
  c->add_option("model", o.model, "zoo model name or ARCH.json")->required();
  c->add_option("--budget", a->budget, "time budget, e.g. 15m, 90s, 1h (default 15m)");
  c->add_option("--width", a->options.width,
                "scale every channel count of the model (default 1; recorded in arch.json)")
      ->check(number_in(0, kMaxWidth, true));
  c->add_option("--seed", a->seed, "seed of weights, minibatches and parameter draws (default 0)")
      ->check(integer_in(0, kMaxSeed));
  c->add_option("--data", o.data, "fashion-mnist (default), cifar10:DIR or synthetic");
  c->add_option("--batch", o.batch, "minibatch of the legality proxy (default 64)")
      ->check(integer_in(1, kMaxBatch));
  a->rule.add_to(c);
  c->add_option("--max-len", o.max_len, "longest sequence, 1-3 (default 3)");
  c->add_option("--layers", o.layers, "convolutions to transform: names or globs (default all)");
  // A unit is what the search transforms as one: a convolution, or a coupled class of them. The
  // option's first name said "layer"; it stays accepted (and is the key in search.json).
  c->add_option("--judges-per-unit,--judges-per-layer", o.judges_per_unit,
                "legality checks per unit (a convolution or a coupled class); 0 (default) shares "
                "the budget");
  c->add_option("--out", o.out_dir,
                "output directory, resumed when it exists (default nasx-search)");
  c->add_flag("--json", a->json, "print a JSON summary on stdout");
  c->add_flag("--continue", o.continue_search,
              "on a folder whose search finished: explore further with a fresh budget (without "
              "it, the finished result is printed at once)");
  c->add_flag("--verify", a->verify,
              "then train the original and the result (nasx verify's recipe, in OUT/verify) and "
              "add the verdict to the report");
  return [a] { return run_search_command(*a); };
}

}  // namespace nasx::cli
