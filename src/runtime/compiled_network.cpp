#include "runtime/compiled_network.h"

#include <cstring>

#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "support/error.h"

namespace nasx {

CompiledNetwork CompiledNetwork::compile(Network net, int64_t batch) {
  CompiledNetwork c;
  Shape input_shape = net.input_shape(batch);
  c.executed_ = fuse_epilogues(fold_batch_norm(std::move(net)));
  std::vector<Shape> shapes = c.executed_.infer_shapes(batch);
  c.input_shape_ = input_shape;
  c.output_shape_ = shapes.back();
  c.plan_ = plan_memory(c.executed_, shapes);

  std::vector<OpInstance> instances;
  for (size_t i = 0; i < c.executed_.nodes.size(); ++i)
    instances.push_back({c.executed_.nodes[i].op, c.executed_.input_shapes(i, shapes, batch)});
  c.ops_ = compile_ops(instances);

  // 64-byte aligned arena.
  c.arena_.reset(new float[c.plan_.arena_floats + 16]);
  float* base = c.arena_.get();
  while (reinterpret_cast<uintptr_t>(base) % 64) ++base;
  auto slot = [&](int node) { return base + c.plan_.slot_offset[c.plan_.slot_of[node]]; };
  for (size_t i = 0; i < c.executed_.nodes.size(); ++i) {
    Node& n = c.executed_.nodes[i];
    Step step{c.ops_[i].function(), {}, {}};
    for (int k : n.inputs) {
      if (k == kNetworkInput) step.input_args.push_back(static_cast<int>(step.args.size()));
      step.args.push_back(k == kNetworkInput ? nullptr : slot(k));
    }
    for (Tensor& p : n.params) step.args.push_back(p.data.data());
    step.args.push_back(slot(static_cast<int>(i)));
    c.steps_.push_back(std::move(step));
  }
  return c;
}

void CompiledNetwork::run(const float* input, float* output) {
  claim_kernel_threads();
  for (Step& s : steps_) {
    for (int a : s.input_args) s.args[a] = const_cast<float*>(input);  // kernels never write inputs
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
