// nasx train | eval: train a network (zoo model or ARCH.json) with LibTorch, and measure its test
// accuracy with LibTorch or with nasx's compiled runtime.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/arch.h"
#include "graph/weights.h"
#include "runtime/compiled_op.h"
#include "support/format.h"
#include "support/json.h"
#include "support/log.h"
#include "support/progress.h"
#include "torch/reference.h"
#include "torch/train.h"
#include "torch/verify.h"

namespace nasx::cli {
namespace {

struct TrainArgs {
  std::string model, data = "fashion-mnist", out;
  int64_t epochs = 10, batch = 128, subset = 0, test_subset = 0;
  double lr = 0.1, width = 0;
  uint64_t seed = 0;
  bool resume = false, json = false;
};

int run_train(const TrainArgs& a) {
  set_torch_threads(kernel_threads());
  Network net = load_model(a.model, a.seed, 0, a.width);
  TrainOptions o;
  o.data = DatasetSpec::parse(a.data);
  o.epochs = a.epochs;
  o.batch = a.batch;
  o.subset = a.subset;
  o.test_subset = a.test_subset;
  o.lr = a.lr;
  o.seed = a.seed;
  o.model = a.model + (a.width > 0 ? " --width " + fmt(a.width, "%g") : "");
  o.width = a.width;
  o.out = a.out;
  o.resume = a.resume;
  // The examples said, so that --subset 0 (the default) is not a silent "everything".
  progress("training " + net.name + " (" + with_commas(net.params()) + " parameters) on " + a.data +
           (a.subset > 0 ? " (a subset of " + with_commas(a.subset) + " examples)"
                         : " (the whole training split: --subset 0)") +
           " for " + std::to_string(a.epochs) + " epochs, checkpoints in " + a.out);
  double last_note = -1;
  auto on_step = [&](const TrainProgress& p) {
    if (log_level() < LogLevel::Warn || (p.elapsed - last_note < 10 && p.step != p.steps)) return;
    last_note = p.elapsed;
    std::fprintf(stderr, "nasx: epoch %lld/%lld step %lld/%lld loss %.4f (%s, %s left)\n",
                 (long long)p.epoch, (long long)p.epochs, (long long)p.step, (long long)p.steps,
                 p.loss, format_duration(p.elapsed).c_str(), format_duration(p.left).c_str());
  };
  auto on_epoch = [&](const EpochStats& e) {
    progress("epoch " + std::to_string(e.epoch) + ": loss " + fmt(e.loss, "%.4f") +
             ", train accuracy " + fmt(e.train_accuracy, "%.2f") + "%, test accuracy " +
             fmt(e.test_accuracy, "%.2f") + "% (" + format_duration(e.seconds) +
             "); checkpoint written");
  };
  std::vector<EpochStats> history = train_network(net, o, on_step, on_epoch);
  Json hist = Json::array();
  for (const EpochStats& e : history) hist.push_back(e.to_json());
  const EpochStats& last = history.back();
  if (a.json) {
    std::cout << Json{{"model", a.model},
                      {"network", net.name},
                      {"params", net.params()},
                      {"options", o.to_json()},
                      {"test_accuracy", last.test_accuracy},
                      {"checkpoint", a.out},
                      {"history", hist}}
                     .dump(2)
              << "\n";
  } else {
    std::printf("%s: test accuracy %.2f%% after %lld epochs (loss %.4f); checkpoint %s\n",
                net.name.c_str(), last.test_accuracy, (long long)last.epoch, last.loss,
                a.out.c_str());
  }
  return 0;
}

struct EvalArgs {
  std::string model, weights, data = "fashion-mnist";
  int64_t batch = 256;
  double width = 0;
  uint64_t seed = 0;
  bool compiled = false, json = false;
};

int run_eval(const EvalArgs& a) {
  set_torch_threads(kernel_threads());
  Network net = load_model(a.model, a.seed, 0, width_for_weights(a.weights, a.width));
  check_checkpoint_network(net, a.weights);
  std::string dir = checkpoint_weights(a.weights);
  int64_t loaded = load_weights_file(net, dir, false);  // a folder, or a .pt state_dict
  DatasetSpec spec = DatasetSpec::parse(a.data);
  spec.train = false;
  Minibatch test = load_split(spec, net.input_chw, net.num_classes, 0, 0);
  if (a.compiled) progress("compiling " + net.name + "...");
  double acc =
      a.compiled ? compiled_accuracy(net, test, a.batch) : torch_accuracy(net, test, a.batch);
  if (a.json) {
    std::cout << Json{{"model", a.model},
                      {"network", net.name},
                      {"weights", dir},
                      {"tensors", loaded},
                      {"data", a.data},
                      {"examples", test.labels.size()},
                      {"runtime", a.compiled ? "nasx" : "libtorch"},
                      {"test_accuracy", acc}}
                     .dump(2)
              << "\n";
  } else {
    std::printf("%s: test accuracy %.2f%% on %zu %s test images (%s, weights %s)\n",
                net.name.c_str(), acc, test.labels.size(), spec.kind.c_str(),
                a.compiled ? "nasx compiled runtime" : "LibTorch", dir.c_str());
  }
  return 0;
}

struct VerifyArgs {
  std::string model, data = "fashion-mnist";
  double width = 0;
  VerifyOptions options;
  bool json = false;
};

}  // namespace

VerifyReport run_verification(const std::string& arch_path, double width, const std::string& data,
                              VerifyOptions options) {
  NASX_USER_CHECK(is_arch_file(arch_path),
                  "verify takes an ARCH.json (written by nasx transform "
                  "or nasx search), not ",
                  arch_path);
  Arch arch = Arch::read(arch_path);
  if (width > 0) arch.width = width;
  options.recipe.data = DatasetSpec::parse(data);
  progress("verifying " + arch_path + " by training: the original with " +
           std::to_string(options.seeds) + " seed" + (options.seeds == 1 ? "" : "s") +
           " and the transformed network with " + std::to_string(options.transformed_seeds) + ", " +
           std::to_string(options.recipe.epochs) + " epochs each on " + data + ", in " +
           options.out + " (resumable)");
  double last_note = -1;
  auto on_progress = [&](const VerifyProgress& p) {
    const TrainProgress& t = p.train;
    if (log_level() < LogLevel::Warn || (t.elapsed - last_note < 10 && t.step != t.steps)) return;
    last_note = t.elapsed;
    std::fprintf(stderr,
                 "nasx: verify %lld/%lld: %s seed %llu, epoch %lld/%lld step %lld/%lld loss %.4f "
                 "(%s left in all)\n",
                 (long long)p.run, (long long)p.runs, p.network.c_str(), (unsigned long long)p.seed,
                 (long long)t.epoch, (long long)t.epochs, (long long)t.step, (long long)t.steps,
                 t.loss, format_duration(p.left_all).c_str());
  };
  return verify_architecture(arch, options, on_progress);
}

namespace {

int run_verify(const VerifyArgs& a) {
  set_torch_threads(kernel_threads());
  VerifyReport r = run_verification(a.model, a.width, a.data, a.options);
  if (a.json) {
    std::cout << r.to_json().dump(2) << "\n";
  } else {
    for (const auto* runs : {&r.original, &r.transformed})
      for (const VerifyRun& v : *runs)
        std::printf("  %-12s seed %llu: %.2f%% (%s parameters, %s)\n", v.network.c_str(),
                    (unsigned long long)v.seed, v.test_accuracy, with_commas(v.params).c_str(),
                    format_duration(v.seconds).c_str());
    std::printf("%s\n", r.summary().c_str());
  }
  return 0;
}

}  // namespace

std::vector<std::pair<std::string, Runner>> add_train_commands(CLI::App& app) {
  std::vector<std::pair<std::string, Runner>> out;
  auto t = std::make_shared<TrainArgs>();
  CLI::App* tc = app.add_subcommand(
      "train", "Train a network with LibTorch (SGD, Nesterov, cosine; crop and flip)");
  tc->add_option("model", t->model, "zoo model name or ARCH.json")->required();
  tc->add_option("--data", t->data,
                 "fashion-mnist (default), fashion-mnist:DIR, cifar10:DIR or synthetic");
  tc->add_option("--epochs", t->epochs, "epochs (default 10)")->check(integer_in(1, 10000));
  tc->add_option("--batch", t->batch, "minibatch size (default 128)")
      ->check(integer_in(2, kMaxBatch));
  tc->add_option("--subset", t->subset,
                 "train on this many examples of the training split (default: all)")
      ->check(integer_in(0, 100000000));
  tc->add_option("--test-subset", t->test_subset,
                 "evaluate each epoch on this many test examples (default: the whole test split; "
                 "nasx eval always uses all of it)")
      ->check(integer_in(0, 100000000));
  tc->add_option("--lr", t->lr, "initial learning rate (default 0.1)")
      ->check(number_in(0, 10, true));
  add_width_option(tc, t->width);
  tc->add_option("--seed", t->seed, "seed of the weights, the subset and the order (default 0)")
      ->check(integer_in(0, kMaxSeed));
  tc->add_option("--out", t->out, "checkpoint directory (written every epoch)")->required();
  tc->add_flag("--resume", t->resume, "continue the checkpoint in --out");
  tc->add_flag("--json", t->json, "print JSON");
  out.emplace_back("train", [t] { return run_train(*t); });

  auto e = std::make_shared<EvalArgs>();
  CLI::App* ec = app.add_subcommand("eval", "Test accuracy of trained weights");
  ec->add_option("model", e->model, "zoo model name or ARCH.json")->required();
  ec->add_option("--weights", e->weights,
                 "checkpoint directory of nasx train, a folder of <layer>.<param>.npy, or a .pt "
                 "state_dict")
      ->required();
  ec->add_option("--data", e->data, "dataset, as for nasx train (its test split)");
  ec->add_option("--batch", e->batch, "batch size (default 256)")->check(integer_in(1, kMaxBatch));
  ec->add_option("--width", e->width,
                 "the channel scale it was trained with (default: a checkpoint's own, else 1)")
      ->check(number_in(0, kMaxWidth, true));
  ec->add_option("--seed", e->seed, "seed of the initial weights (unused when all are loaded)")
      ->check(integer_in(0, kMaxSeed));
  ec->add_flag("--compiled", e->compiled, "run nasx's compiled network instead of LibTorch");
  ec->add_flag("--json", e->json, "print JSON");
  out.emplace_back("eval", [e] { return run_eval(*e); });

  auto v = std::make_shared<VerifyArgs>();
  TrainOptions& r = v->options.recipe;
  CLI::App* vc = app.add_subcommand(
      "verify", "Train the original and the transformed network; does it keep its accuracy?");
  vc->add_option("model", v->model, "ARCH.json (of nasx transform or nasx search)")->required();
  vc->add_option("--width", v->width,
                 "train at this channel scale instead of the architecture's (faster checks)")
      ->check(number_in(0, kMaxWidth, true));
  vc->add_option("--data", v->data,
                 "fashion-mnist (default), fashion-mnist:DIR, cifar10:DIR or synthetic");
  vc->add_option("--epochs", r.epochs, "epochs per training (default 10)")
      ->check(integer_in(1, 10000));
  vc->add_option("--subset", r.subset,
                 "train on this many examples (default 10000; 0: the whole split)")
      ->check(integer_in(0, 100000000));
  vc->add_option("--test-subset", r.test_subset,
                 "examples evaluated after each epoch (default 2000; the verdict uses the whole "
                 "test split)")
      ->check(integer_in(0, 100000000));
  vc->add_option("--batch", r.batch, "minibatch size (default 128)")
      ->check(integer_in(2, kMaxBatch));
  vc->add_option("--lr", r.lr, "initial learning rate (default 0.1)")
      ->check(number_in(0, 10, true));
  vc->add_option("--seeds", v->options.seeds,
                 "seeds of the original, which measure the training noise (default 3)")
      ->check(integer_in(1, 16));
  vc->add_option("--transformed-seeds", v->options.transformed_seeds,
                 "seeds of the transformed network, averaged (default 1)")
      ->check(integer_in(1, 16));
  vc->add_option("--tolerance", v->options.tolerance,
                 "points a kept network may lose beyond the noise (default 1)")
      ->check(number_in(0, 100, false));
  vc->add_option("--out", v->options.out,
                 "folder of the checkpoints and results, resumed when it exists (default "
                 "nasx-verify)");
  vc->add_flag("--json", v->json, "print JSON");
  out.emplace_back("verify", [v] { return run_verify(*v); });
  return out;
}

}  // namespace nasx::cli
