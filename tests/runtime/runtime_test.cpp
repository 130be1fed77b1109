// Unit tests of the runtime's data placement: the arena memory plan (checked by offsets in the
// arena, with each tensor's physical size) and the activation layout helpers.
#include <gtest/gtest.h>

#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "graph/zoo.h"
#include "runtime/layouts.h"
#include "runtime/memory_plan.h"

namespace nasx {
namespace {

using ir::Layout;

// A small ResNet as CompiledNetwork runs it: folded, fused, blocked by 8 with haloes.
struct Planned {
  Network net = fuse_epilogues(fold_batch_norm(build_zoo_model("resnet18_cifar", {0, 0, 0.125})));
  std::vector<Shape> shapes = net.infer_shapes(2);
  std::vector<int64_t> floats;
  MemoryPlan plan;
  std::vector<size_t> last_read;  // the last node reading each output (the output: past the end)

  Planned() {
    NetworkLayouts layouts = assign_layouts(net, shapes, 8);
    for (size_t i = 0; i < shapes.size(); ++i)
      floats.push_back(layouts.nodes[i].physical_size(shapes[i]));
    plan = plan_memory(net, shapes, floats);
    last_read.assign(net.nodes.size(), 0);
    for (size_t i = 0; i < net.nodes.size(); ++i)
      for (int k : net.nodes[i].inputs)
        if (k != kNetworkInput) last_read[k] = i;
    last_read.back() = net.nodes.size();
  }
  // Whether the arena ranges of two node outputs intersect.
  bool overlap(size_t a, size_t b) const {
    int64_t oa = plan.slot_offset[plan.slot_of[a]], ob = plan.slot_offset[plan.slot_of[b]];
    return oa < ob + floats[b] && ob < oa + floats[a];
  }
};

TEST(MemoryPlan, TensorsStillToBeReadNeverOverlapLaterOnes) {
  Planned p;
  for (size_t j = 0; j < p.net.nodes.size(); ++j) {
    EXPECT_LE(p.plan.slot_offset[p.plan.slot_of[j]] + p.floats[j], p.plan.arena_floats);
    for (size_t i = 0; i < j; ++i) {
      if (p.last_read[i] <= j) continue;  // i is not needed after node j runs
      EXPECT_FALSE(p.overlap(i, j)) << p.net.nodes[i].name << " vs " << p.net.nodes[j].name;
    }
  }
}

TEST(MemoryPlan, OutputNeverOverlapsItsInputs) {
  Planned p;
  for (size_t j = 0; j < p.net.nodes.size(); ++j)
    for (int k : p.net.nodes[j].inputs) {
      if (k == kNetworkInput) continue;
      EXPECT_FALSE(p.overlap(k, j)) << p.net.nodes[k].name << " -> " << p.net.nodes[j].name;
    }
}

TEST(MemoryPlan, ArenaIsNoLargerThanOneBufferPerNode) {
  Planned p;
  int64_t sum = 0;
  for (int64_t f : p.floats) sum += f;
  EXPECT_EQ(p.plan.unplanned_floats, sum);
  EXPECT_LE(p.plan.arena_floats, p.plan.unplanned_floats);
}

TEST(MemoryPlan, BestFitElseGrowsTheLargestFreeSlot) {
  // Only the inputs and sizes matter to the plan: n0 and n1 are freed by n2; n3 (8) takes the
  // smaller of the two free slots; n4 (200) fits in none and grows the largest, n0's.
  Network net;
  for (std::vector<int> in : {std::vector<int>{kNetworkInput}, {kNetworkInput}, {0, 1}, {2}, {3}})
    net.nodes.push_back(Node{"", Relu{}, in, {}});
  MemoryPlan plan = plan_memory(net, {{100}, {10}, {50}, {8}, {200}});
  EXPECT_EQ(plan.slot_of, (std::vector<int>{0, 1, 2, 1, 0}));
  EXPECT_EQ(plan.slot_size, (std::vector<int64_t>{200, 10, 50}));
  EXPECT_EQ(plan.slot_offset, (std::vector<int64_t>{0, 208, 224}));  // 64-byte aligned
  EXPECT_EQ(plan.arena_floats, 288);
  EXPECT_EQ(plan.unplanned_floats, 368);
}

const Shape kShape = {2, 16, 5, 6};
const std::vector<Layout> kHaloLayouts = {Layout::blocked(1, 8, 2, 1),
                                          Layout{.halo_dim = 2, .halo = 2}};

TEST(Layouts, PackedActivationReadsBackAsTheLogicalTensor) {
  std::vector<float> logical(num_elements(kShape));
  for (size_t f = 0; f < logical.size(); ++f) logical[f] = static_cast<float>(f + 1);
  for (const Layout& l : kHaloLayouts) {
    std::vector<float> packed(l.physical_size(kShape), -1.0f);
    pack_activation(logical.data(), packed.data(), kShape, l);
    EXPECT_EQ(ir::from_physical(packed.data(), kShape, l), logical) << l.to_string();
  }
}

TEST(Layouts, ZeroHaloZeroesExactlyTheHalo) {
  for (const Layout& l : kHaloLayouts) {
    std::vector<float> data(l.physical_size(kShape), 7.0f);
    zero_halo(data.data(), kShape, l);
    // to_physical of an all-7 tensor: 7 in the interior, 0 in the halo.
    EXPECT_EQ(data, ir::to_physical(std::vector<float>(num_elements(kShape), 7.0f), kShape, l))
        << l.to_string();
  }
}

}  // namespace
}  // namespace nasx
