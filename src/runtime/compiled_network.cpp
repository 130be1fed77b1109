#include "runtime/compiled_network.h"

#include <algorithm>
#include <cstring>

#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
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
  CompiledNetwork c;
  Shape input_shape = net.input_shape(batch);
  NetworkKernels k = network_kernels(std::move(net), batch);
  c.executed_ = std::move(k.executed);
  const std::vector<Shape>& shapes = k.shapes;
  const NetworkLayouts& layouts = k.layouts;
  std::vector<OpInstance>& instances = k.instances;
  c.input_shape_ = input_shape;
  c.output_shape_ = shapes.back();
  c.plan_ = plan_activations(c.executed_, shapes, layouts);
  // The arena, the staged input and the caller's input and output, before anything is allocated.
  int64_t need =
      4 * (c.plan_.arena_floats + 2 * num_elements(input_shape) + num_elements(c.output_shape_));
  int64_t have = physical_memory_bytes();
  NASX_USER_CHECK(need <= have, c.executed_.name, " at batch ", batch, " with input ",
                  shape_string(input_shape), " needs ", need >> 20, " MiB of activations, more ",
                  "than this machine's ", have >> 20, " MiB of memory (lower --batch or the image ",
                  "size)");
  c.input_layout_ = layouts.input;
  if (!c.input_layout_.plain())
    c.staged_input_.assign(c.input_layout_.physical_size(input_shape), 0.0f);  // halo stays 0

  if (knobs)
    for (OpInstance& inst : instances) knobs(inst);
  c.ops_ = compile_ops(instances);

  // 64-byte aligned arena.
  c.arena_.reset(new float[c.plan_.arena_floats + 16]);
  float* base = c.arena_.get();
  while (reinterpret_cast<uintptr_t>(base) % 64) ++base;
  auto slot = [&](int node) { return base + c.plan_.slot_offset[c.plan_.slot_of[node]]; };
  for (size_t i = 0; i < c.executed_.nodes.size(); ++i) {
    Node& n = c.executed_.nodes[i];
    Step step{c.ops_[i].function(), {}, {}, shapes[i], layouts.nodes[i]};
    for (int k : n.inputs) {
      bool staged = k == kNetworkInput && !c.input_layout_.plain();
      if (k == kNetworkInput && !staged)
        step.input_args.push_back(static_cast<int>(step.args.size()));
      step.args.push_back(staged ? c.staged_input_.data() : k == kNetworkInput ? nullptr : slot(k));
    }
    for (size_t j = 0; j < n.params.size(); ++j) {
      c.packed_.push_back(c.ops_[i].pack_param(j, n.params[j]));
      step.args.push_back(c.packed_.back().data());
    }
    step.args.push_back(slot(static_cast<int>(i)));
    c.steps_.push_back(std::move(step));
  }
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

Tensor CompiledNetwork::run(const Tensor& input) {
  NASX_USER_CHECK(input.shape == input_shape_, "network ", executed_.name, " expects input ",
                  shape_string(input_shape_), ", got ", shape_string(input.shape));
  Tensor out(output_shape_);
  run(input.data.data(), out.data.data());
  return out;
}

}  // namespace nasx
