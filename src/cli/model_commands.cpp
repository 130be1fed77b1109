// nasx models | show | check | run | bench: inspect, verify, execute and time whole networks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "cli/model.h"
#include "cli/options.h"
#include "graph/weights.h"
#include "graph/zoo.h"
#include "runtime/compiled_network.h"
#include "support/format.h"
#include "support/json.h"
#include "support/npy.h"
#include "torch/reference.h"
#include "torch/twin.h"
#include "tune/tune.h"

namespace nasx::cli {
namespace {

CompiledNetwork compile_with_progress(Network net, int64_t batch) {
  progress("compiling " + net.name + " (batch " + std::to_string(batch) + ", " +
           std::to_string(net.nodes.size()) + " layers)...");
  auto t0 = std::chrono::steady_clock::now();
  // Kernels take their tuned knobs when `nasx tune` left records (tune/tune.h).
  DefaultTuning tuning;
  CompiledNetwork c = CompiledNetwork::compile(std::move(net), batch, tuning.chooser());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress("compiled in " + fmt(s, "%.1f") + " s (" + std::to_string(c.executed().nodes.size()) +
           " fused kernels)");
  return c;
}

int threads() {
  return kernel_threads();
}

// ---- models ----
int run_models() {
  std::printf("%-20s %-14s %14s %16s  %s\n", "model", "input", "params", "MACs", "description");
  for (const ZooEntry& e : zoo_models()) {
    Network n = build_zoo_model(e.name);
    std::printf("%-20s %-14s %14s %16s  %s\n", e.name.c_str(), shape_string(n.input_chw).c_str(),
                with_commas(n.params()).c_str(), with_commas(n.macs()).c_str(),
                e.description.c_str());
  }
  return 0;
}

// ---- show ----
struct ShowArgs {
  std::string model;
  double width = 0;
  bool json = false;
};

int run_show(const ShowArgs& a) {
  Network net = load_model(a.model, 0, 0, a.width);
  std::vector<Shape> shapes = net.infer_shapes(1);
  Json layers = Json::array();
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    std::vector<Shape> in = net.input_shapes(i, shapes, 1);
    Json inputs = Json::array();
    for (int k : n.inputs) inputs.push_back(k == kNetworkInput ? "input" : net.nodes[k].name);
    layers.push_back({{"name", n.name},
                      {"type", op_name(n.op)},
                      {"inputs", inputs},
                      {"output_shape", shapes[i]},
                      {"params", param_count(n.op)},
                      {"macs", op_macs(n.op, in)}});
  }
  if (a.json) {
    Json j{{"name", net.name},
           {"input_shape", net.input_shape(1)},
           {"params", net.params()},
           {"macs", net.macs()},
           {"layers", layers}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%s: input %s, %s parameters, %s MACs (batch 1)\n\n", net.name.c_str(),
              shape_string(net.input_shape(1)).c_str(), with_commas(net.params()).c_str(),
              with_commas(net.macs()).c_str());
  std::printf("%-44s %-16s %-18s %12s %14s\n", "layer", "type", "output", "params", "MACs");
  for (const Json& l : layers)
    std::printf("%-44s %-16s %-18s %12s %14s\n", l["name"].get<std::string>().c_str(),
                l["type"].get<std::string>().c_str(),
                shape_string(l["output_shape"].get<Shape>()).c_str(),
                with_commas(l["params"].get<int64_t>()).c_str(),
                with_commas(l["macs"].get<int64_t>()).c_str());
  std::printf("%-44s %-16s %-18s %12s %14s\n", "total", "", "", with_commas(net.params()).c_str(),
              with_commas(net.macs()).c_str());
  return 0;
}

// ---- check ----
struct CheckArgs {
  std::string model;
  int64_t batch = 1, image_size = 0;
  double width = 0;
  uint64_t seed = 0;
  bool json = false;
};

int run_check(const CheckArgs& a) {
  NASX_USER_CHECK(a.batch > 0, "--batch must be positive, got ", a.batch);
  Network net = load_model(a.model, a.seed, a.image_size, a.width);
  // Weights that are not numbers make any comparison meaningless (before: exit 1 with "compiled
  // in 0.3 s" as the last line on stderr and nan errors).
  for (const Node& n : net.nodes)
    for (size_t p = 0; p < n.params.size(); ++p)
      for (float v : n.params[p].data)
        NASX_USER_CHECK(
            std::isfinite(v), a.model, ": the weights of layer '", n.name, "' hold ",
            std::isnan(v) ? "NaN" : "an infinity",
            ": there is nothing to check (export the model from trained, finite weights)");
  CompiledNetwork compiled = compile_with_progress(net, a.batch);
  Tensor input = Tensor::random_normal(net.input_shape(a.batch), a.seed + 1);
  Tensor got = compiled.run(input);
  Tensor want = TorchTwin(net).forward(input);
  Agreement ag = compare(got, want);
  bool pass = ag.max_rel_err <= 1e-4;
  if (a.json) {
    Json j{{"model", net.name},
           {"batch", a.batch},
           {"input_shape", input.shape},
           {"max_abs_err", ag.max_abs_err},
           {"max_rel_err", ag.max_rel_err},
           {"check", pass ? "pass" : "fail"}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << net.name << " batch " << a.batch << " input " << shape_string(input.shape)
              << ": max_abs_err " << fmt(ag.max_abs_err, "%.3g") << "  max_rel_err "
              << fmt(ag.max_rel_err, "%.3g") << "  " << (pass ? "PASS" : "FAIL")
              << " (limit 1e-4, against the LibTorch twin)\n";
  }
  return pass ? 0 : 1;
}

// ---- run ----
struct RunArgs {
  std::string model, input, output, weights;
  double width = 0;
  uint64_t seed = 0;
  bool partial_weights = false;
};

int run_run(const RunArgs& a) {
  Network net = load_model(a.model, a.seed, 0,
                           a.weights.empty() ? a.width : width_for_weights(a.weights, a.width));
  if (!a.weights.empty()) check_checkpoint_network(net, a.weights);
  Tensor input = read_npy(a.input);
  NASX_USER_CHECK(input.shape.size() == 4 && input.shape[0] > 0 &&
                      input.shape == net.input_shape(input.shape[0]),
                  a.input, ": ", net.name, " expects an input of shape [N,", net.input_chw[0], ",",
                  net.input_chw[1], ",", net.input_chw[2], "], got ", shape_string(input.shape));
  if (!a.weights.empty()) {
    int64_t n = load_weights_file(net, a.weights, a.partial_weights);
    progress("loaded " + std::to_string(n) + " parameter tensors from " + a.weights);
  }
  CompiledNetwork compiled = compile_with_progress(std::move(net), input.shape[0]);
  write_npy(a.output, compiled.run(input));
  progress("wrote " + a.output);
  return 0;
}

// ---- bench ----
struct BenchArgs {
  std::string model, vs;
  int64_t batch = 1;
  int repeat = 20, warmup = 3;
  double width = 0;
  uint64_t seed = 0;
  bool json = false, profile = false;
};

// Where the time of one run goes (bench --profile): each node's kernel and halo zeroing, the
// input's staging, the output's copy and what the executor adds, per part the median.
Json profile_json(CompiledNetwork& compiled, const Tensor& input, int warmup, int repeat) {
  CompiledNetwork::Profile p = compiled.profile(input, warmup, repeat);
  Json steps = Json::array();
  double kernels = 0, halos = 0;
  std::map<std::string, double> by_op;
  for (const CompiledNetwork::StepProfile& s : p.steps) {
    steps.push_back({{"node", s.node},
                     {"op", s.op},
                     {"templates", s.templates},
                     {"kernel_ms", s.kernel.median_ms},
                     {"halo_ms", s.halo.median_ms}});
    kernels += s.kernel.median_ms;
    halos += s.halo.median_ms;
    by_op[s.op] += s.kernel.median_ms;
  }
  double parts = kernels + halos + p.staging.median_ms + p.output_copy.median_ms;
  return Json{{"steps", steps},
              {"kernels_ms", kernels},
              {"halo_ms", halos},
              {"staging_ms", p.staging.median_ms},
              {"output_copy_ms", p.output_copy.median_ms},
              {"whole_ms", p.whole.median_ms},
              {"executor_ms", std::max(0.0, p.whole.median_ms - parts)},
              {"kernels_by_op_ms", by_op}};
}

void print_profile(const Json& p) {
  double whole = p["whole_ms"].get<double>();
  auto share = [&](double v) { return fmt(100 * v / std::max(whole, 1e-9), "%.1f") + "%"; };
  std::cout << "\nprofile (median of each part over the runs; " << fmt(whole, "%.3f")
            << " ms a run):\n";
  std::vector<Json> steps(p["steps"].begin(), p["steps"].end());
  std::stable_sort(steps.begin(), steps.end(), [](const Json& x, const Json& y) {
    return x["kernel_ms"].get<double>() > y["kernel_ms"].get<double>();
  });
  for (size_t i = 0; i < steps.size() && i < 15; ++i) {
    const Json& s = steps[i];
    std::cout << "  " << fmt(s["kernel_ms"].get<double>(), "%8.3f") << " ms "
              << share(s["kernel_ms"].get<double>()) << "  " << s["node"].get<std::string>() << " ("
              << s["op"].get<std::string>() << ", " << s["templates"].get<std::string>() << ")\n";
  }
  if (steps.size() > 15) std::cout << "  ... " << steps.size() - 15 << " more nodes\n";
  for (const auto& [op, v] : p["kernels_by_op_ms"].items())
    std::cout << "  kernels " << op << ": " << fmt(v.get<double>(), "%.3f") << " ms "
              << share(v.get<double>()) << "\n";
  for (const char* k : {"halo_ms", "staging_ms", "output_copy_ms", "executor_ms"})
    std::cout << "  " << std::string(k, std::strlen(k) - 3) << ": "
              << fmt(p[k].get<double>(), "%.3f") << " ms " << share(p[k].get<double>()) << "\n";
}

int run_bench(const BenchArgs& a) {
  NASX_USER_CHECK(a.batch > 0, "--batch must be positive, got ", a.batch);
  NASX_USER_CHECK(a.repeat > 0, "--repeat must be positive, got ", a.repeat);
  NASX_USER_CHECK(a.vs.empty() || a.vs == "torch", "--vs accepts 'torch', got '", a.vs, "'");
  Network net = load_model(a.model, a.seed, 0, a.width);
  CompiledNetwork compiled = compile_with_progress(net, a.batch);
  Tensor input = Tensor::random_normal(net.input_shape(a.batch), a.seed + 1);
  Tensor out(compiled.output_shape());
  TimingStats t =
      measure([&] { compiled.run(input.data.data(), out.data.data()); }, a.warmup, a.repeat);
  Json j{{"model", net.name},         {"batch", a.batch},          {"threads", threads()},
         {"repeat", a.repeat},        {"latency_ms", t.median_ms}, {"latency_min_ms", t.min_ms},
         {"latency_max_ms", t.max_ms}};
  if (a.vs == "torch") {
    set_torch_threads(threads());
    progress("timing the LibTorch twin...");
    TimingStats tt = TorchTwin(net).time(input, a.warmup, a.repeat);
    j["torch_latency_ms"] = tt.median_ms;
    j["torch_latency_min_ms"] = tt.min_ms;
    j["torch_latency_max_ms"] = tt.max_ms;
    j["speedup_vs_torch"] = tt.median_ms / t.median_ms;
  }
  if (a.profile) j["profile"] = profile_json(compiled, input, a.warmup, a.repeat);
  if (a.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << net.name << " batch " << a.batch << ", " << threads() << " threads, " << a.repeat
            << " repeats after " << a.warmup << " warm-ups\n";
  std::cout << "nasx      median " << fmt(t.median_ms, "%.2f") << " ms (min "
            << fmt(t.min_ms, "%.2f") << ", max " << fmt(t.max_ms, "%.2f") << ")\n";
  if (a.vs == "torch")
    std::cout << "libtorch  median " << fmt(j["torch_latency_ms"], "%.2f") << " ms (min "
              << fmt(j["torch_latency_min_ms"], "%.2f") << ", max "
              << fmt(j["torch_latency_max_ms"], "%.2f") << ")\nspeedup vs libtorch "
              << fmt(j["speedup_vs_torch"], "%.2f") << "x\n";
  if (a.profile) print_profile(j["profile"]);
  return 0;
}

}  // namespace

std::vector<std::pair<std::string, Runner>> add_model_commands(CLI::App& app) {
  std::vector<std::pair<std::string, Runner>> out;
  app.add_subcommand("models", "List the model zoo with input shape, parameters and MACs");
  out.emplace_back("models", [] { return run_models(); });

  auto show = std::make_shared<ShowArgs>();
  CLI::App* s = app.add_subcommand("show", "Every layer of a model with shapes, params and MACs");
  s->add_option("model", show->model, "zoo model name or ARCH.json")->required();
  add_width_option(s, show->width);
  s->add_flag("--json", show->json, "print JSON");
  out.emplace_back("show", [show] { return run_show(*show); });

  auto check = std::make_shared<CheckArgs>();
  CLI::App* c = app.add_subcommand("check", "Compiled network against its LibTorch twin");
  c->add_option("model", check->model, "zoo model name or ARCH.json")->required();
  c->add_option("--batch", check->batch, "batch size (default 1)")->check(integer_in(1, kMaxBatch));
  c->add_option("--seed", check->seed, "seed for weights and input (default 0)")
      ->check(integer_in(0, kMaxSeed));
  c->add_option("--image-size", check->image_size, "input height and width (default: the model's)")
      ->check(integer_in(1, 4096));
  add_width_option(c, check->width);
  c->add_flag("--json", check->json, "print JSON");
  out.emplace_back("check", [check] { return run_check(*check); });

  auto run = std::make_shared<RunArgs>();
  CLI::App* r = app.add_subcommand("run", "Run a model on a .npy input, write a .npy output");
  r->add_option("model", run->model, "zoo model name or ARCH.json")->required();
  r->add_option("--input", run->input, "input .npy, float32 [N,C,H,W]")->required();
  r->add_option("--output", run->output, "output .npy to write")->required();
  r->add_option("--weights", run->weights,
                "directory of <layer>.<param>.npy files, or a torch.save(state_dict) .pt file "
                "(state_dict names); default: seeded init");
  r->add_option("--seed", run->seed, "seed of the initial weights (default 0)")
      ->check(integer_in(0, kMaxSeed));
  add_width_option(r, run->width);
  r->add_flag("--partial-weights", run->partial_weights,
              "allow --weights to provide only some tensors (the rest keep the seeded init)");
  out.emplace_back("run", [run] { return run_run(*run); });

  auto bench = std::make_shared<BenchArgs>();
  CLI::App* b = app.add_subcommand("bench", "Median latency of the compiled network");
  b->add_option("model", bench->model, "zoo model name or ARCH.json")->required();
  b->add_option("--batch", bench->batch, "batch size (default 1)")->check(integer_in(1, kMaxBatch));
  b->add_option("--repeat", bench->repeat, "timed repetitions (default 20)")
      ->check(integer_in(1, 1000000));
  b->add_option("--vs", bench->vs, "also time 'torch' (LibTorch eager) in the same run");
  b->add_option("--seed", bench->seed, "seed (default 0)")->check(integer_in(0, kMaxSeed));
  add_width_option(b, bench->width);
  b->add_flag("--json", bench->json, "print JSON");
  b->add_flag("--profile", bench->profile,
              "also where a run's time goes: each node's kernel, halo zeroing, input staging, "
              "output copy, the executor");
  out.emplace_back("bench", [bench] { return run_bench(*bench); });
  return out;
}

}  // namespace nasx::cli
