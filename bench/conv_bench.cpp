// nasx-bench: nasx's convolution kernels against oneDNN (the vendor anchor: fused conv + bias +
// ReLU, the layouts the library chooses, inputs already in them) and optionally LibTorch, per
// layer and end to end, in one run on this machine (../shared/PERFORMANCE.md).
//
//   build/bench/nasx-bench [--models resnet34_cifar,resnext29_2x64d,densenet121_cifar]
//                          [--repeat 50] [--torch] [--json FILE] [--quick]
//   build/bench/nasx-bench --machine    # {"fma_peak_gflops": ..., "read_gbps": ...}
//
// Layers: every distinct convolution of the models (after BatchNorm folding), then grouped
// (g = 2..32), depthwise, split, peeled and row-tiled versions of resnet34_cifar's 3x3 layers.
// Times are medians of interleaved calls (nasx, oneDNN, nasx, ...) with their spread; GFLOP/s
// counts the layer's useful multiply-adds. The FMA peak of the machine is measured first.
// End to end: the compiled network against oneDNN running the same convolutions back to back
// (each with its own weights), interleaved.
// For the AVX2 path: NASX_ISA=avx2 DNNL_MAX_CPU_ISA=AVX2 build/bench/nasx-bench (make bench).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <dnnl.hpp>

#include "codegen/toolchain.h"
#include "graph/fold_batch_norm.h"
#include "graph/zoo.h"
#include "runtime/compiled_network.h"
#include "runtime/compiled_op.h"
#include "runtime/layouts.h"
#include "support/cpu.h"
#include "support/json.h"
#include "support/timing.h"
#include "torch/reference.h"
#include "transform/sequence.h"
#include "tune/target.h"
#include "tune/tune.h"

namespace nasx {
namespace {

using Clock = std::chrono::steady_clock;

double now_ms() {
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

// The FMA peak of all kernel threads: independent chains of vector FMAs as wide as the ISA,
// compiled by the kernels' own toolchain and flags (the bench itself is not built for the ISA).
double measure_peak_gflops(int lanes) {
  std::string v = "float __attribute__((vector_size(" + std::to_string(4 * lanes) + ")))";
  std::string source = R"(#include <omp.h>
typedef )" + v + R"( vec;
extern "C" double nasx_peak(long n) {
  double total = 0;
#pragma omp parallel reduction(+ : total)
  {
    vec a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    vec a8 = {}, a9 = {}, a10 = {}, a11 = {}, b = {}, c = {};
    b += 1.0000001f; c += 1e-9f;
    // Distinct starting values: chains that start equal are one chain to the compiler, which
    // then keeps a single latency-bound FMA per iteration (12 counted: a "peak" 1.5-3x too high).
    a1 += 1; a2 += 2; a3 += 3; a4 += 4; a5 += 5; a6 += 6;
    a7 += 7; a8 += 8; a9 += 9; a10 += 10; a11 += 11;
    for (long i = 0; i < n; ++i) {
      a0 = a0 * b + c; a1 = a1 * b + c; a2 = a2 * b + c; a3 = a3 * b + c;
      a4 = a4 * b + c; a5 = a5 * b + c; a6 = a6 * b + c; a7 = a7 * b + c;
      a8 = a8 * b + c; a9 = a9 * b + c; a10 = a10 * b + c; a11 = a11 * b + c;
    }
    vec s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    total += s[0];
  }
  return total;
}
)";
  if (lanes == 0) return 0;
  CompileResult lib = compile_and_load(source);
  auto peak = reinterpret_cast<double (*)(long)>(lib.library->symbol("nasx_peak"));
  claim_kernel_threads();
  const long n = 20'000'000;
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    double t0 = now_ms();
    volatile double sink = peak(n);
    (void)sink;
    double ms = now_ms() - t0;
    best = std::max(best, double(n) * 12 * lanes * 2 * kernel_threads() / (ms * 1e6));
  }
  return best;
}

// The read bandwidth of all kernel threads from memory: vector loads of a buffer far larger than
// the caches, four independent sums per thread, compiled like the kernels; best of 5 passes.
double measure_read_gbps(int lanes) {
  int width = std::max(lanes, 4);
  std::string v = "float __attribute__((vector_size(" + std::to_string(4 * width) + ")))";
  std::string source = R"(#include <omp.h>
typedef )" + v + R"( vec;
extern "C" double nasx_read(const vec* p, long n) {
  double total = 0;
#pragma omp parallel reduction(+ : total)
  {
    vec s0 = {}, s1 = {}, s2 = {}, s3 = {};
#pragma omp for schedule(static)
    for (long i = 0; i < n; i += 4) {
      s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3];
    }
    vec s = s0 + s1 + s2 + s3;
    total += s[0];
  }
  return total;
}
)";
  CompileResult lib = compile_and_load(source);
  auto read = reinterpret_cast<double (*)(const float*, long)>(lib.library->symbol("nasx_read"));
  claim_kernel_threads();
  const long floats = long(1) << 28;  // 1 GiB
  std::vector<float> buffer(floats, 1.0f);
  float* p = buffer.data();
  while (reinterpret_cast<uintptr_t>(p) % 64) ++p;
  long vectors = (floats - 64) / width / 4 * 4;
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    double t0 = now_ms();
    volatile double sink = read(p, vectors);
    (void)sink;
    double ms = now_ms() - t0;
    best = std::max(best, double(vectors) * width * 4 / (ms * 1e6));
  }
  return best;
}

struct Layer {
  std::string name;  // "resnet34_cifar layer1.0.conv1" or "g=4 of ..."
  ConvProgram program;
  int64_t count = 1;  // occurrences in its network
};

std::string shape_key(const ConvProgram& p) {
  return p.to_string();
}

// oneDNN's fused conv + bias + ReLU on a single-statement program, in its chosen layouts.
class DnnlConv {
 public:
  DnnlConv(const ConvProgram& p, dnnl::engine& eng) : eng_(eng), stream_(eng) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const ConvStatement& s = p.statements[0];
    int64_t g = s.groups, pad = -s.row_offset;
    dnnl::memory::dims src{1, p.in_channels, p.in_h, p.in_w},
        dst{1, p.out_channels, p.out_h, p.out_w};
    dnnl::memory::dims wei =
        g > 1 ? dnnl::memory::dims{g, p.out_channels / g, s.ci_per_group, p.kernel, p.kernel}
              : dnnl::memory::dims{p.out_channels, p.in_channels, p.kernel, p.kernel};
    int64_t pad_r_h = (p.out_h - 1) * p.stride + (p.kernel - 1) * p.dilation + 1 - p.in_h - pad;
    int64_t pad_r_w = (p.out_w - 1) * p.stride + (p.kernel - 1) * p.dilation + 1 - p.in_w - pad;
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        dnnl::memory::desc(src, dt::f32, tag::any), dnnl::memory::desc(wei, dt::f32, tag::any),
        dnnl::memory::desc({p.out_channels}, dt::f32, tag::a),
        dnnl::memory::desc(dst, dt::f32, tag::any), {p.stride, p.stride},
        {p.dilation - 1, p.dilation - 1}, {pad, pad}, {pad_r_h, pad_r_w});
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng_);
    impl_ = pd.impl_info_str();
    auto filled = [&](const dnnl::memory::desc& md, uint64_t seed) {
      dnnl::memory m(md, eng_);
      float* data = static_cast<float*>(m.get_data_handle());
      Tensor r = Tensor::random_normal({int64_t(md.get_size() / 4)}, seed);
      std::copy(r.data.begin(), r.data.end(), data);
      return m;
    };
    args_ = {{DNNL_ARG_SRC, filled(pd.src_desc(), 1)},
             {DNNL_ARG_WEIGHTS, filled(pd.weights_desc(), 2)},
             {DNNL_ARG_BIAS, filled(pd.bias_desc(), 3)},
             {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), eng_)}};
    conv_ = dnnl::convolution_forward(pd);
  }
  void run() {
    conv_.execute(stream_, args_);
    stream_.wait();
  }
  const std::string& impl() const { return impl_; }

 private:
  dnnl::engine& eng_;
  dnnl::stream stream_;
  dnnl::convolution_forward conv_;
  std::unordered_map<int, dnnl::memory> args_;
  std::string impl_;
};

// Interleaved timing of several functions: one call of each per round.
std::vector<TimingStats> interleaved(const std::vector<std::function<void()>>& fns, int warmup,
                                     int repeat) {
  std::vector<std::vector<double>> samples(fns.size());
  for (int r = 0; r < warmup + repeat; ++r)
    for (size_t f = 0; f < fns.size(); ++f) {
      double t0 = now_ms();
      fns[f]();
      if (r >= warmup) samples[f].push_back(now_ms() - t0);
    }
  std::vector<TimingStats> out;
  for (auto& s : samples) out.push_back(summarize(s));
  return out;
}

std::vector<Layer> network_layers(const std::string& model, std::map<std::string, size_t>& seen,
                                  std::vector<Layer>& all) {
  Network net = fold_batch_norm(build_zoo_model(model));
  std::vector<Layer> mine;
  for (const Node& n : net.nodes) {
    const auto* p = std::get_if<ConvProgram>(&n.op);
    if (!p) continue;
    ConvProgram q = *p;
    q.bias = true;
    std::string key = shape_key(q);
    auto it = seen.find(key);
    if (it == seen.end()) {
      seen[key] = all.size();
      all.push_back({model + " " + n.name, q, 0});
      it = seen.find(key);
    }
    all[it->second].count += 1;
    mine.push_back(all[it->second]);
  }
  return mine;
}

struct Row {
  std::string name, dnnl_impl, templates;
  TimingStats nasx, dnnl, torch;
  double gflops_nasx = 0, gflops_dnnl = 0;
};

int run(int argc, char** argv) {
  std::vector<std::string> models{"resnet34_cifar", "resnext29_2x64d", "densenet121_cifar"};
  int repeat = 50;
  bool with_torch = false, quick = false, force_knobs = false, end_to_end = true;
  std::string filter;
  ConvKnobs knobs;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UserError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--models") {
      models.clear();
      std::stringstream ss(next());
      for (std::string m; std::getline(ss, m, ',');) models.push_back(m);
    } else if (a == "--repeat") {
      repeat = std::stoi(next());
    } else if (a == "--torch") {
      with_torch = true;
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--filter") {
      filter = next();
    } else if (a == "--knobs") {
      knobs = knobs_from_string(next()).front();
      force_knobs = true;
    } else if (a == "--no-end-to-end") {
      end_to_end = false;
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--machine") {
      // The machine's two limits, for rooflines (bench/peers): nothing else runs.
      claim_kernel_threads();
      const Isa& isa = target_isa();
      Json m{{"threads", kernel_threads()},
             {"isa", isa.name},
             {"cpu", detect_target().cpu},
             {"fma_peak_gflops", measure_peak_gflops(isa.lanes)},
             {"read_gbps", measure_read_gbps(isa.lanes)}};
      std::cout << m.dump() << "\n";
      return 0;
    } else {
      std::cerr
          << "usage: nasx-bench [--models A,B] [--repeat N] [--torch] [--quick] [--json FILE]\n"
             "                  [--filter SUBSTRING] [--knobs OC_V,OH_T,OW_T] [--no-end-to-end]\n"
             "       nasx-bench --machine   (FMA peak and read bandwidth as JSON)\n";
      return 2;
    }
  }
  claim_kernel_threads();
  omp_set_num_threads(kernel_threads());
  set_torch_threads(kernel_threads());
  const Isa& isa = target_isa();
  double peak = measure_peak_gflops(isa.lanes);
  std::printf("nasx-bench: %d threads, ISA %s, measured FMA peak %.0f GFLOP/s, oneDNN %d.%d\n",
              kernel_threads(), isa.name.c_str(), peak, dnnl_version()->major,
              dnnl_version()->minor);

  std::map<std::string, size_t> seen;
  std::vector<Layer> layers;
  std::map<std::string, std::vector<Layer>> per_model;
  for (const std::string& m : models) per_model[m] = network_layers(m, seen, layers);
  // Transformed versions of resnet34_cifar-like 3x3 layers (what the search produces).
  for (ConvSpec base : std::vector<ConvSpec>{{64, 32, 32, 64, 3, 1, 1, 1, 1, true},
                                             {128, 16, 16, 128, 3, 1, 1, 1, 1, true},
                                             {256, 8, 8, 256, 3, 1, 1, 1, 1, true},
                                             {512, 4, 4, 512, 3, 1, 1, 1, 1, true}}) {
    std::string tag = std::to_string(base.in_channels) + "ch " + std::to_string(base.in_h) + "x" +
                      std::to_string(base.in_w);
    for (int64_t g : {2, 4, 8, 16, 32}) {
      ConvSpec s = base;
      s.groups = g;
      layers.push_back({"group(" + std::to_string(g) + ") " + tag, ConvProgram::make(s), 0});
    }
    ConvSpec dw = base;
    dw.groups = dw.in_channels;
    layers.push_back({"depthwise " + tag, ConvProgram::make(dw), 0});
    for (const char* seq : {"split(2)", "peel(16); group(4)", "spatial_split(2)"}) {
      Expected<ConvProgram> t = apply_sequence(parse_sequence(seq), ConvProgram::make(base));
      if (t.ok()) layers.push_back({std::string(seq) + " " + tag, t.value(), 0});
    }
    if (quick) break;
  }

  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  std::vector<Row> rows;
  std::printf("\n%-44s %9s %9s %7s %7s %6s %6s  %s\n", "layer", "nasx ms", "oneDNN ms", "ratio",
              "spread", "%peak", "%peakD", "nasx template / oneDNN impl");
  for (const Layer& l : layers) {
    if (!filter.empty() && l.name.find(filter) == std::string::npos) continue;
    OpInstance inst{FusedConv{l.program, false, true}, {l.program.input_shape(1)}};
    inst.layouts = op_layouts(inst.op, inst.inputs, isa.lanes);
    if (force_knobs && !inst.layouts.back().plain())  // every statement; invalid ones are refused
      inst.knobs.assign(l.program.statements.size(), knobs);
    CompiledOp op = compile_op(inst);
    Tensor x = Tensor::random_normal(inst.inputs[0], 7);
    std::vector<Tensor> params;
    uint64_t seed = 8;
    for (const ParamSpec& ps : param_specs(inst.op))
      params.push_back(Tensor::random_normal(ps.shape, seed++));
    std::vector<const Tensor*> pp;
    for (const Tensor& t : params) pp.push_back(&t);
    BoundOp bound = op.bind({&x}, pp);
    Row r{l.name, "", "", {}, {}, {}};
    for (const std::string& t : op.templates())
      r.templates += (r.templates.empty() ? "" : "; ") + t;
    std::vector<std::function<void()>> fns{[&] { bound.run(); }};
    std::unique_ptr<DnnlConv> dn;
    if (l.program.statements.size() == 1) {
      dn = std::make_unique<DnnlConv>(l.program, eng);
      r.dnnl_impl = dn->impl();
      fns.push_back([&] { dn->run(); });
    }
    std::vector<TimingStats> t = interleaved(fns, 5, repeat);
    r.nasx = t[0];
    double flops = 2.0 * double(l.program.macs(1));
    r.gflops_nasx = flops / (r.nasx.median_ms * 1e6);
    if (dn) {
      r.dnnl = t[1];
      r.gflops_dnnl = flops / (r.dnnl.median_ms * 1e6);
    }
    if (with_torch)
      r.torch = time_torch_reference(inst.op, {x}, params, 3, std::max(5, repeat / 5));
    double ratio = dn ? r.dnnl.median_ms / r.nasx.median_ms : 0;
    std::printf("%-44s %9.4f %9.4f %6.2fx %6.0f%% %5.0f%% %5.0f%%  %s / %s\n",
                (l.name.size() > 44 ? l.name.substr(l.name.size() - 44) : l.name).c_str(),
                r.nasx.median_ms, dn ? r.dnnl.median_ms : 0.0, ratio,
                100.0 * (r.nasx.max_ms - r.nasx.min_ms) / r.nasx.median_ms,
                100.0 * r.gflops_nasx / peak, dn ? 100.0 * r.gflops_dnnl / peak : 0.0,
                r.templates.c_str(), r.dnnl_impl.c_str());
    std::fflush(stdout);
    rows.push_back(r);
  }

  // Geometric means over the distinct layers of the networks and over the transformed ones.
  auto geomean = [&](bool networks) {
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      bool is_network = i < seen.size();
      if (is_network != networks || rows[i].dnnl.median_ms == 0) continue;
      s += std::log(rows[i].dnnl.median_ms / rows[i].nasx.median_ms);
      ++n;
    }
    return n ? std::exp(s / n) : 0.0;
  };
  std::printf(
      "\ngeometric mean of oneDNN/nasx time: network layers %.2fx, transformed layers %.2fx\n",
      geomean(true), geomean(false));

  Json out;
  out["machine"] = {{"threads", kernel_threads()}, {"isa", isa.name}, {"peak_gflops", peak}};
  for (const Row& r : rows)
    out["layers"].push_back({{"name", r.name},
                             {"nasx_ms", {r.nasx.median_ms, r.nasx.min_ms, r.nasx.max_ms}},
                             {"onednn_ms", {r.dnnl.median_ms, r.dnnl.min_ms, r.dnnl.max_ms}},
                             {"torch_ms", {r.torch.median_ms, r.torch.min_ms, r.torch.max_ms}},
                             {"nasx_gflops", r.gflops_nasx},
                             {"onednn_gflops", r.gflops_dnnl},
                             {"nasx_template", r.templates},
                             {"onednn_impl", r.dnnl_impl}});
  out["geomean_network_layers"] = geomean(true);
  out["geomean_transformed_layers"] = geomean(false);

  // End to end: the rule's knobs, and the tuned ones when `nasx tune` left records, interleaved.
  std::optional<RecordStore> records;
  if (std::filesystem::is_regular_file(default_records_path()))
    records.emplace(default_records_path(), detect_target());
  std::printf("\n%-20s %12s %12s %16s %8s %8s\n", "end to end (batch 1)", "nasx ms", "tuned ms",
              "oneDNN convs", "ratio", "tuned");
  for (const std::string& m : end_to_end ? models : std::vector<std::string>{}) {
    // oneDNN runs the same convolutions back to back, each with its own weights (as a network
    // would: they do not all fit in cache), timed as one call beside nasx's whole network.
    std::vector<std::unique_ptr<DnnlConv>> convs;
    for (const Layer& l : per_model[m]) convs.push_back(std::make_unique<DnnlConv>(l.program, eng));
    auto dnnl_all = [&] {
      for (auto& c : convs) c->run();
    };
    CompiledNetwork net = CompiledNetwork::compile(build_zoo_model(m), 1);
    CompiledNetwork tuned = CompiledNetwork::compile(
        build_zoo_model(m), 1, records ? apply_records(*records) : KnobChooser{});
    Tensor x = Tensor::random_normal(net.input_shape(), 1);
    Tensor y(net.output_shape()), z(net.output_shape());
    std::vector<TimingStats> t =
        interleaved({[&] { net.run(x.data.data(), y.data.data()); },
                     [&] { tuned.run(x.data.data(), z.data.data()); }, dnnl_all},
                    3, std::max(10, repeat / 2));
    double sum = t[2].median_ms;
    std::printf("%-20s %12.3f %12.3f %16.3f %7.2fx %7.2fx  (spread %.0f%%, %.0f%%)%s\n", m.c_str(),
                t[0].median_ms, t[1].median_ms, sum, sum / t[0].median_ms, sum / t[1].median_ms,
                100.0 * (t[0].max_ms - t[0].min_ms) / t[0].median_ms,
                100.0 * (t[1].max_ms - t[1].min_ms) / t[1].median_ms,
                records ? "" : "  (no tuning records: run nasx tune)");
    out["end_to_end"].push_back({{"model", m},
                                 {"nasx_ms", {t[0].median_ms, t[0].min_ms, t[0].max_ms}},
                                 {"tuned_ms", {t[1].median_ms, t[1].min_ms, t[1].max_ms}},
                                 {"onednn_convs_ms", {t[2].median_ms, t[2].min_ms, t[2].max_ms}}});
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace nasx

int main(int argc, char** argv) {
  try {
    return nasx::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "nasx-bench: " << e.what() << "\n";
    return 2;
  }
}
