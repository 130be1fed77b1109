// nasx tune MODEL|ARCH.json [--budget 10m] [--records FILE] [--batch 1] [--variants 16]
// Tunes the knobs of every distinct blocked convolution kernel of the network (tune/tune.h) and
// appends the measurements to FILE; run, bench, check (and the search's final network) apply
// the best record of each kernel from the default FILE.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "support/file.h"
#include "support/file_lock.h"
#include "support/format.h"
#include "support/json.h"
#include "tune/target.h"
#include "tune/tune.h"

namespace nasx::cli {
namespace {

struct TuneArgs {
  std::string model, budget = "10m", records;
  int64_t batch = 1, variants = 16, seed = 0;
  bool json = false;
};

int run_tune(const TuneArgs& a) {
  TuneOptions options;
  options.budget_seconds = parse_duration(a.budget);
  options.variants = static_cast<int>(a.variants);
  options.seed = static_cast<uint64_t>(a.seed);
  Network net = load_model(a.model, options.seed);
  std::string path = a.records.empty() ? default_records_path() : a.records;
  // One writer per records file: a second tuning of the same file is refused, not interleaved.
  std::error_code ec;
  if (auto parent = std::filesystem::path(path).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent, ec);  // as the store would; errors surface below
  check_records_file(path);
  FileLock lock(path + ".lock", "the records file " + path);
  RecordStore records(path, detect_target());
  progress("tuning " + net.name + " (batch " + std::to_string(a.batch) + "), records in " + path);
  TuneSummary s = tune_network(net, a.batch, records, options);
  Json j{{"model", net.name},    {"records", path},        {"kernels", s.kernels},
         {"tuned", s.tuned},     {"measured", s.measured}, {"rule_ms", s.rule_ms},
         {"best_ms", s.best_ms}, {"failed", s.failed}};
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << net.name << ": " << s.tuned << " of " << s.kernels << " kernels tuned, "
            << s.measured << " variants measured now (the rest were in the records)"
            << (s.failed ? ", " + std::to_string(s.failed) +
                               " failed in every variant (first: " + s.first_error + ")"
                         : "")
            << "\n";
  if (s.best_ms > 0)
    std::cout << "sum of kernel medians: rule " << fmt(s.rule_ms, "%.3f") << " ms, tuned "
              << fmt(s.best_ms, "%.3f") << " ms (" << fmt(s.rule_ms / s.best_ms, "%.2f") << "x)\n";
  std::cout << "records: " << path << "\n";
  return 0;
}

}  // namespace

Runner add_tune_command(CLI::App& app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* c = app.add_subcommand("tune", "Tune the convolution kernels of a model");
  c->add_option("model", a->model, "zoo model name or ARCH.json")->required();
  c->add_option("--budget", a->budget, "time budget, e.g. 10m, 90s (default 10m)");
  c->add_option("--records", a->records,
                "records file (JSON lines; default: tuning.jsonl in nasx's cache, which run, "
                "bench, check and search read)");
  c->add_option("--batch", a->batch, "batch size (default 1)")->check(integer_in(1, kMaxBatch));
  c->add_option("--variants", a->variants, "variants per kernel besides the rule's (default 16)")
      ->check(integer_in(0, 1000));
  c->add_option("--seed", a->seed, "seed of the sample and the weights (default 0)")
      ->check(integer_in(0, kMaxSeed));
  c->add_flag("--json", a->json, "print JSON");
  return [a] { return run_tune(*a); };
}

}  // namespace nasx::cli
