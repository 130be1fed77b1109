#include "runtime/network_binding.h"

#include <algorithm>

#include "support/cpu.h"
#include "support/error.h"

namespace nasx {

NetworkBinding bind_network(Network net, int64_t batch, const KnobChooser& knobs) {
  NetworkBinding b;
  b.input_shape = net.input_shape(batch);
  b.kernels = network_kernels(std::move(net), batch);
  const Network& executed = b.kernels.executed;
  const NetworkLayouts& layouts = b.kernels.layouts;
  b.output_shape = b.kernels.shapes.back();
  b.plan = plan_activations(executed, b.kernels.shapes, layouts);
  b.staged_floats = layouts.input.plain() ? 0 : layouts.input.physical_size(b.input_shape);
  // The arena, the staged input and the caller's buffers, before anything is allocated.
  int64_t need = 4 * (b.plan.arena_floats + b.staged_floats + num_elements(b.input_shape) +
                      num_elements(b.output_shape));
  int64_t have = physical_memory_bytes();
  NASX_USER_CHECK(need <= have, executed.name, " at batch ", batch, " with input ",
                  shape_string(b.input_shape), " needs ", need >> 20, " MiB of activations, more ",
                  "than this machine's ", have >> 20, " MiB of memory (lower --batch or the image ",
                  "size)");
  if (knobs)
    for (OpInstance& inst : b.kernels.instances) knobs(inst);
  b.lowered = lower_ops(b.kernels.instances);

  auto slot = [&](int node) { return b.plan.slot_offset[b.plan.slot_of[node]]; };
  for (size_t i = 0; i < executed.nodes.size(); ++i) {
    const Node& n = executed.nodes[i];
    const LoweredKernel& kernel = b.lowered.kernels[b.lowered.kernel_of[i]];
    NetworkBinding::Step step{b.lowered.kernel_of[i], {}, b.kernels.shapes[i], layouts.nodes[i]};
    using W = NetworkBinding::Where;
    for (int in : n.inputs) {
      if (in != kNetworkInput)
        step.args.push_back({W::Arena, slot(in)});
      else
        step.args.push_back({b.staged_floats > 0 ? W::Staged : W::Input, 0});
    }
    for (size_t j = 0; j < n.params.size(); ++j) {
      step.args.push_back({W::Weights, static_cast<int64_t>(b.packed.size())});
      b.packed.push_back(kernel.packing[j].pack(n.params[j], kernel.args[n.inputs.size() + j]));
    }
    step.args.push_back({W::Arena, slot(static_cast<int>(i))});
    b.steps.push_back(std::move(step));
  }
  return b;
}

}  // namespace nasx
