#include "runtime/memory_plan.h"

#include <algorithm>

namespace nasx {

MemoryPlan plan_memory(const Network& net, const std::vector<Shape>& shapes,
                       const std::vector<int64_t>& floats) {
  size_t n = net.nodes.size();
  std::vector<size_t> last_use(n, 0);
  for (size_t i = 0; i < n; ++i) {
    last_use[i] = std::max(last_use[i], i);
    for (int k : net.nodes[i].inputs)
      if (k != kNetworkInput) last_use[k] = std::max(last_use[k], i);
  }
  last_use[n - 1] = n;  // the output lives to the end

  MemoryPlan plan;
  plan.slot_of.assign(n, -1);
  std::vector<bool> busy;
  for (size_t i = 0; i < n; ++i) {
    int64_t need = floats.empty() ? num_elements(shapes[i]) : floats[i];
    plan.unplanned_floats += need;
    int best = -1;
    for (size_t s = 0; s < busy.size(); ++s) {
      if (busy[s]) continue;
      bool fits = plan.slot_size[s] >= need;
      if (best < 0) {
        best = static_cast<int>(s);
        continue;
      }
      bool best_fits = plan.slot_size[best] >= need;
      if (fits && (!best_fits || plan.slot_size[s] < plan.slot_size[best])) best = int(s);
      if (!fits && !best_fits && plan.slot_size[s] > plan.slot_size[best]) best = int(s);
    }
    if (best < 0) {
      best = static_cast<int>(busy.size());
      busy.push_back(false);
      plan.slot_size.push_back(0);
    }
    plan.slot_size[best] = std::max(plan.slot_size[best], need);
    busy[best] = true;
    plan.slot_of[i] = best;
    for (int k : net.nodes[i].inputs)
      if (k != kNetworkInput && last_use[k] == i) busy[plan.slot_of[k]] = false;
    if (last_use[i] == i) busy[best] = false;  // read by nobody
  }
  int64_t offset = 0;
  for (int64_t size : plan.slot_size) {
    plan.slot_offset.push_back(offset);
    offset += (size + 15) / 16 * 16;  // 64-byte aligned slots
  }
  plan.arena_floats = offset;
  return plan;
}

}  // namespace nasx
