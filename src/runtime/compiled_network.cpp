#include "runtime/compiled_network.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "runtime/network_binding.h"
#include "support/cpu.h"
#include "support/error.h"

namespace nasx {

NetworkKernels network_kernels(Network net, int64_t batch) {
  NetworkKernels k;
  k.executed = fuse_epilogues(fold_batch_norm(std::move(net)));
  k.shapes = k.executed.infer_shapes(batch);
  k.layouts = assign_layouts(k.executed, k.shapes, target_isa().lanes);
  for (size_t i = 0; i < k.executed.nodes.size(); ++i) {
    const Node& n = k.executed.nodes[i];
    OpInstance inst{n.op, k.executed.input_shapes(i, k.shapes, batch)};
    inst.layouts = k.executed.inputs_of(i, k.layouts.input, k.layouts.nodes);
    inst.layouts.push_back(k.layouts.nodes[i]);
    if (std::all_of(inst.layouts.begin(), inst.layouts.end(),
                    [](const ir::Layout& l) { return l.plain(); }))
      inst.layouts.clear();
    k.instances.push_back(std::move(inst));
  }
  return k;
}

MemoryPlan plan_activations(const Network& executed, const std::vector<Shape>& shapes,
                            const NetworkLayouts& layouts) {
  std::vector<int64_t> floats;
  for (size_t i = 0; i < shapes.size(); ++i)
    floats.push_back(layouts.nodes[i].physical_size(shapes[i]));
  return plan_memory(executed, shapes, floats);
}

CompiledNetwork CompiledNetwork::compile(Network net, int64_t batch, const KnobChooser& knobs) {
  NetworkBinding b = bind_network(std::move(net), batch, knobs);
  CompiledNetwork c;
  c.input_shape_ = b.input_shape;
  c.output_shape_ = b.output_shape;
  c.plan_ = b.plan;
  c.input_layout_ = b.kernels.layouts.input;
  if (b.staged_floats > 0) c.staged_input_.assign(b.staged_floats, 0.0f);  // halo stays 0
  c.packed_ = std::move(b.packed);

  const std::vector<LoweredKernel>& kernels = b.lowered.kernels;
  c.modules_ = compile_chunks(kernels);

  // 64-byte aligned arena.
  c.arena_.reset(new float[c.plan_.arena_floats + 16]);
  float* base = c.arena_.get();
  while (reinterpret_cast<uintptr_t>(base) % 64) ++base;
  for (const NetworkBinding::Step& s : b.steps) {
    const CompiledModule& module = *c.modules_[s.kernel / kKernelsPerLibrary];
    std::string templates;
    for (const std::string& t : kernels[s.kernel].templates)
      templates += (templates.empty() ? "" : "; ") + t;
    Step step{module.function(kernels[s.kernel].name),
              {},
              {},
              s.output_shape,
              s.output_layout,
              templates};
    for (const NetworkBinding::Arg& a : s.args) {
      using W = NetworkBinding::Where;
      if (a.where == W::Input) step.input_args.push_back(static_cast<int>(step.args.size()));
      step.args.push_back(a.where == W::Arena     ? base + a.offset
                          : a.where == W::Staged  ? c.staged_input_.data()
                          : a.where == W::Weights ? c.packed_[a.offset].data()
                                                  : nullptr);
    }
    c.steps_.push_back(std::move(step));
  }
  c.executed_ = std::move(b.kernels.executed);
  return c;
}

void CompiledNetwork::run(const float* input, float* output) {
  claim_kernel_threads();
  if (!input_layout_.plain())
    pack_activation(input, staged_input_.data(), input_shape_, input_layout_);
  for (Step& s : steps_) {
    for (int a : s.input_args) s.args[a] = const_cast<float*>(input);  // kernels never write inputs
    if (s.output_layout.halo > 0) zero_halo(s.args.back(), s.output_shape, s.output_layout);
    s.fn(s.args.data());
  }
  std::memcpy(output, steps_.back().args.back(), num_elements(output_shape_) * sizeof(float));
}

CompiledNetwork::Profile CompiledNetwork::profile(const Tensor& input, int warmup, int repeat) {
  NASX_USER_CHECK(input.shape == input_shape_, "network ", executed_.name, " expects input ",
                  shape_string(input_shape_), ", got ", shape_string(input.shape));
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  Tensor out(output_shape_);
  for (int w = 0; w < warmup; ++w) run(input.data.data(), out.data.data());
  size_t n = steps_.size();
  std::vector<std::vector<double>> kernel(n), halo(n);
  std::vector<double> staging, copy, whole;
  claim_kernel_threads();
  for (int r = 0; r < repeat; ++r) {
    Clock::time_point t0 = Clock::now();
    if (!input_layout_.plain())
      pack_activation(input.data.data(), staged_input_.data(), input_shape_, input_layout_);
    Clock::time_point t = Clock::now();
    staging.push_back(ms(t0, t));
    for (size_t i = 0; i < n; ++i) {
      Step& s = steps_[i];
      for (int a : s.input_args) s.args[a] = const_cast<float*>(input.data.data());
      if (s.output_layout.halo > 0) zero_halo(s.args.back(), s.output_shape, s.output_layout);
      Clock::time_point h = Clock::now();
      s.fn(s.args.data());
      Clock::time_point k = Clock::now();
      halo[i].push_back(ms(t, h));
      kernel[i].push_back(ms(h, k));
      t = k;
    }
    std::memcpy(out.data.data(), steps_.back().args.back(),
                num_elements(output_shape_) * sizeof(float));
    Clock::time_point end = Clock::now();
    copy.push_back(ms(t, end));
    whole.push_back(ms(t0, end));
  }
  Profile p;
  for (size_t i = 0; i < n; ++i)
    p.steps.push_back({executed_.nodes[i].name, op_name(executed_.nodes[i].op), steps_[i].templates,
                       summarize(kernel[i]), summarize(halo[i])});
  p.staging = summarize(staging);
  p.output_copy = summarize(copy);
  p.whole = summarize(whole);
  return p;
}

Tensor CompiledNetwork::run(const Tensor& input) {
  NASX_USER_CHECK(input.shape == input_shape_, "network ", executed_.name, " expects input ",
                  shape_string(input_shape_), ", got ", shape_string(input.shape));
  Tensor out(output_shape_);
  run(input.data.data(), out.data.data());
  return out;
}

}  // namespace nasx
