#include "graph/weights.h"

#include <filesystem>
#include <map>
#include <set>

#include "support/error.h"
#include "support/npy.h"

namespace nasx {

// Loads <layer>.<param>.npy files (PyTorch state_dict names) from a directory. Every parameter
// tensor of the network must be there (a missing one is named), unless `partial` asks to keep
// the seeded initialisation for the others. num_batches_tracked counters are ignored.
int64_t load_weights(Network& net, const std::string& dir, bool partial) {
  namespace fs = std::filesystem;
  NASX_USER_CHECK(fs::is_directory(dir), "--weights ", dir,
                  " is not a directory of <layer>.<param>.npy files");
  std::map<std::string, Tensor*> slots;
  for (Node& n : net.nodes) {
    std::vector<ParamSpec> specs = param_specs(n.op);
    for (size_t p = 0; p < specs.size(); ++p) slots[n.name + "." + specs[p].name] = &n.params[p];
  }
  std::set<std::string> loaded_keys;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    std::string key = entry.path().stem().string();
    if (key.size() > 20 && key.compare(key.size() - 20, 20, ".num_batches_tracked") == 0) continue;
    auto it = slots.find(key);
    NASX_USER_CHECK(it != slots.end(), "--weights: ", entry.path().string(),
                    " names no parameter of ", net.name, " (expected <layer>.<param>.npy)");
    Tensor t = read_npy(entry.path().string());
    NASX_USER_CHECK(t.shape == it->second->shape, "--weights: ", entry.path().string(),
                    " has shape ", shape_string(t.shape), ", ", key, " needs ",
                    shape_string(it->second->shape));
    *it->second = std::move(t);
    loaded_keys.insert(key);
  }
  std::vector<std::string> missing;
  for (const auto& [key, slot] : slots)
    if (!loaded_keys.count(key)) missing.push_back(key);
  if (!missing.empty() && !partial) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i)
      list += (i ? ", " : "") + missing[i] + ".npy";
    user_error("--weights ", dir, " lacks ", missing.size(), " of the ", slots.size(),
               " parameter tensors of ", net.name, " (", list, missing.size() > 5 ? ", ..." : "",
               "); pass --partial-weights to keep the seeded initialisation for those");
  }
  return static_cast<int64_t>(loaded_keys.size());
}

void save_weights(const Network& net, const std::string& dir) {
  std::filesystem::create_directories(dir);
  for (const Node& n : net.nodes) {
    std::vector<ParamSpec> specs = param_specs(n.op);
    for (size_t p = 0; p < specs.size(); ++p)
      write_npy(dir + "/" + n.name + "." + specs[p].name + ".npy", n.params[p]);
  }
}

}  // namespace nasx
