// The memory plan: every node's output gets a slot in one arena; a slot is reused once the
// tensor in it has been read for the last time. Slots are chosen best-fit (the smallest free slot
// that is large enough, else the largest free slot, grown). A node's output never shares a slot
// with its own inputs: inputs are released only after the output is placed.
#pragma once

#include <vector>

#include "graph/network.h"

namespace nasx {

struct MemoryPlan {
  std::vector<int> slot_of;          // per node
  std::vector<int64_t> slot_offset;  // in floats, per slot
  std::vector<int64_t> slot_size;    // in floats, per slot
  int64_t arena_floats = 0;
  int64_t unplanned_floats = 0;  // what one buffer per node would take
};

// `floats`: what each node's output takes in its layout (empty: the shapes' element counts).
MemoryPlan plan_memory(const Network& net, const std::vector<Shape>& shapes,
                       const std::vector<int64_t>& floats = {});

}  // namespace nasx
