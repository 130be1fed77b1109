// nasx conv: build one convolution, run the generated kernel and the LibTorch reference on the same
// random input and weights, report their agreement and their median times.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "program/conv_program.h"
#include "runtime/compiled_op.h"
#include "runtime/layouts.h"
#include "support/cpu.h"
#include "support/format.h"
#include "support/json.h"
#include "support/text.h"
#include "torch/reference.h"

namespace nasx::cli {
namespace {

struct ConvArgs {
  std::string in, knobs;
  int64_t out = 0, kernel = 0, stride = 1, pad = 0, dilation = 1, groups = 1, batch = 1;
  uint64_t seed = 0;
  int repeat = 20, warmup = 3;
  bool bias = false, check = false, json = false;
};

// "A,B,C" for `names` "A,B,C": one integer per name, separated by single commas (no empty
// fields, no spaces, no trailing comma).
std::vector<int64_t> parse_ints(const std::string& text, const char* option,
                                const std::string& names) {
  size_t count = std::count(names.begin(), names.end(), ',') + 1;
  std::vector<std::string> items = split(text, ',');
  std::vector<int64_t> v;
  for (const std::string& item : items) {
    std::optional<int64_t> x = parse_int(item);
    if (!x) break;
    v.push_back(*x);
  }
  if (v.size() != count || items.size() != count)
    user_error(option, " expects ", names, " as ", count, " integers separated by commas, got '",
               text, "'");
  return v;
}

int run_conv(const ConvArgs& a) {
  std::vector<int64_t> chw = parse_ints(a.in, "--in", "C,H,W");
  NASX_USER_CHECK(a.batch > 0, "--batch must be positive, got ", a.batch);
  NASX_USER_CHECK(a.repeat > 0, "--repeat must be positive, got ", a.repeat);
  ConvSpec spec{chw[0],   chw[1], chw[2],     a.out,    a.kernel,
                a.stride, a.pad,  a.dilation, a.groups, a.bias};
  ConvProgram program = ConvProgram::make(spec);
  NASX_USER_CHECK(num_elements(program.input_shape(a.batch)) <= (int64_t(1) << 31) &&
                      num_elements(program.output_shape(a.batch)) <= (int64_t(1) << 31),
                  "--batch ", a.batch, ": the input or output would have more than 2^31 elements");
  Op op = program;
  Shape in_shape = program.input_shape(a.batch);

  Tensor input = Tensor::random_normal(in_shape, a.seed);
  std::vector<Tensor> params;
  uint64_t s = a.seed + 1;
  for (const ParamSpec& p : param_specs(op)) {
    double fan_in = num_elements(p.shape) / std::max<int64_t>(p.shape[0], 1);
    params.push_back(Tensor::random_normal(p.shape, s++, float(1.0 / std::sqrt(fan_in))));
  }
  std::vector<const Tensor*> param_ptrs;
  for (const Tensor& t : params) param_ptrs.push_back(&t);

  OpInstance inst{op, {in_shape}};
  inst.layouts = op_layouts(op, inst.inputs, target_isa().lanes);
  if (!a.knobs.empty()) inst.knobs = knobs_from_string(a.knobs);
  CompiledOp kernel = compile_op(inst);
  BoundOp bound = kernel.bind({&input}, param_ptrs);  // inputs reordered, weights packed
  bound.run();
  Tensor out = bound.output();

  Json j;
  j["program"] = program.to_string();
  j["input_shape"] = in_shape;
  j["output_shape"] = kernel.output_shape();
  j["params"] = program.params();
  j["macs"] = program.macs(a.batch);
  j["isa"] = target_isa().name;
  j["templates"] = kernel.templates();
  bool pass = true;
  if (a.check) {
    Agreement ag = compare(out, torch_reference(op, {input}, params));
    pass = ag.max_rel_err <= 1e-4;
    j["max_abs_err"] = ag.max_abs_err;
    j["max_rel_err"] = ag.max_rel_err;
    j["check"] = pass ? "pass" : "fail";
  }
  int threads = kernel_threads();
  set_torch_threads(threads);
  TimingStats t = measure([&] { bound.run(); }, a.warmup, a.repeat);
  TimingStats tt = time_torch_reference(op, {input}, params, a.warmup, a.repeat);
  double gflops = 2.0 * program.macs(a.batch) / (t.median_ms * 1e6);
  j["threads"] = threads;
  j["median_ms"] = t.median_ms;
  j["min_ms"] = t.min_ms;
  j["max_ms"] = t.max_ms;
  j["gflops"] = gflops;
  j["torch_median_ms"] = tt.median_ms;
  j["torch_min_ms"] = tt.min_ms;
  j["torch_max_ms"] = tt.max_ms;
  j["speedup_vs_torch"] = tt.median_ms / t.median_ms;

  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << program.to_string();
    std::cout << "batch " << a.batch << ", params " << program.params() << ", MACs "
              << program.macs(a.batch) << "\n";
    if (a.check)
      std::cout << "max_abs_err " << fmt(j["max_abs_err"]) << "  max_rel_err "
                << fmt(j["max_rel_err"]) << "  " << (pass ? "PASS" : "FAIL") << " (limit 1e-4)\n";
    std::cout << "template (" << target_isa().name << "):";
    for (const std::string& tpl : kernel.templates()) std::cout << " " << tpl << ";";
    std::cout << "\nnasx kernel  median " << fmt(t.median_ms, "%.3f") << " ms (min "
              << fmt(t.min_ms, "%.3f") << ", max " << fmt(t.max_ms, "%.3f") << "), "
              << fmt(gflops, "%.1f") << " GFLOP/s\n";
    std::cout << "libtorch     median " << fmt(tt.median_ms, "%.3f") << " ms (min "
              << fmt(tt.min_ms, "%.3f") << ", max " << fmt(tt.max_ms, "%.3f") << ")\n";
    std::cout << "speedup vs libtorch " << fmt(tt.median_ms / t.median_ms, "%.2f") << "x ("
              << threads << " threads, " << a.repeat << " repeats)\n";
  }
  return pass ? 0 : 1;
}

}  // namespace

Runner add_conv_command(CLI::App& app) {
  auto args = std::make_shared<ConvArgs>();
  CLI::App* c =
      app.add_subcommand("conv", "Build one convolution, check it against LibTorch, and time both");
  c->add_option("--in", args->in, "input channels, height, width as C,H,W")->required();
  c->add_option("--out", args->out, "output channels")->required()->check(integer_in(1, 65536));
  c->add_option("--kernel", args->kernel, "kernel size K (KxK)")
      ->required()
      ->check(integer_in(1, 64));
  c->add_option("--stride", args->stride, "stride (default 1)")->check(integer_in(1, 64));
  c->add_option("--pad", args->pad, "zero padding on each side (default 0)")
      ->check(integer_in(0, 1024));
  c->add_option("--dilation", args->dilation, "dilation (default 1)")->check(integer_in(1, 64));
  c->add_option("--groups", args->groups, "groups (default 1)")->check(integer_in(1, 65536));
  c->add_option("--batch", args->batch, "batch size N (default 1)")
      ->check(integer_in(1, kMaxBatch));
  c->add_option("--seed", args->seed, "seed for input and weights (default 0)")
      ->check(integer_in(0, kMaxSeed));
  c->add_option("--repeat", args->repeat, "timed repetitions (default 20)")
      ->check(integer_in(1, 1000000));
  c->add_flag("--bias", args->bias, "add a bias vector");
  c->add_option(
      "--knobs", args->knobs,
      "blocked template tiling OC_V,OH_T,OW_T and optionally CI_T, the input channels per "
      "reduction pass (default: the rule; see nasx tune)");
  c->add_flag("--check", args->check, "compare with LibTorch; exit 1 when max_rel_err > 1e-4");
  c->add_flag("--json", args->json, "print JSON instead of text");
  return [args] { return run_conv(*args); };
}

}  // namespace nasx::cli
