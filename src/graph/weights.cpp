#include "graph/weights.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "support/error.h"
#include "support/npy.h"
#include "support/temp_files.h"

namespace nasx {
namespace {

bool is_batch_counter(const std::string& key) {
  return key.size() > 20 && key.compare(key.size() - 20, 20, ".num_batches_tracked") == 0;
}

// The network's parameter tensors by state_dict name, and which have been filled: the checks
// every way of loading weights shares. `suffix` is what a name carries in the source (".npy" for
// a folder's files, nothing for a .pt file's keys).
class WeightSlots {
 public:
  WeightSlots(Network& net, std::string source, std::string suffix)
      : net_(net), source_(std::move(source)), suffix_(std::move(suffix)) {
    for (Node& n : net.nodes) {
      std::vector<ParamSpec> specs = param_specs(n.op);
      for (size_t p = 0; p < specs.size(); ++p) slots_[n.name + "." + specs[p].name] = &n.params[p];
    }
  }

  // The tensor `key` names; `where` says where it came from (a file, or the source's key).
  Tensor& slot(const std::string& key, const std::string& where) {
    auto it = slots_.find(key);
    NASX_USER_CHECK(it != slots_.end(), "--weights: ", where, " names no parameter of ", net_.name,
                    " (expected <layer>.<param>", suffix_, ")");
    return *it->second;
  }

  void put(const std::string& key, Tensor t, const std::string& where) {
    Tensor& s = slot(key, where);
    NASX_USER_CHECK(t.shape == s.shape, "--weights: ", where, " has shape ", shape_string(t.shape),
                    ", ", key, " needs ", shape_string(s.shape));
    s = std::move(t);
    loaded_.insert(key);
  }

  // Every tensor must have been loaded unless `partial`. Returns how many were.
  int64_t finish(bool partial) const {
    std::vector<std::string> missing;
    for (const auto& [key, slot] : slots_)
      if (!loaded_.count(key)) missing.push_back(key);
    if (!missing.empty() && !partial) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 5; ++i)
        list += (i ? ", " : "") + missing[i] + suffix_;
      user_error("--weights ", source_, " lacks ", missing.size(), " of the ", slots_.size(),
                 " parameter tensors of ", net_.name, " (", list, missing.size() > 5 ? ", ..." : "",
                 "); only nasx run can go on without them (--partial-weights keeps the seeded "
                 "initialisation for those)");
    }
    return static_cast<int64_t>(loaded_.size());
  }

 private:
  Network& net_;
  std::string source_, suffix_;
  std::map<std::string, Tensor*> slots_;
  std::set<std::string> loaded_;
};

}  // namespace

// Loads <layer>.<param>.npy files (PyTorch state_dict names) from a directory. Every parameter
// tensor of the network must be there (a missing one is named), unless `partial` asks to keep
// the seeded initialisation for the others. num_batches_tracked counters are ignored.
int64_t load_weights(Network& net, const std::string& dir, bool partial) {
  namespace fs = std::filesystem;
  NASX_USER_CHECK(fs::is_directory(dir), "--weights ", dir,
                  " is not a directory of <layer>.<param>.npy files");
  WeightSlots slots(net, dir, ".npy");
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    std::string key = entry.path().stem().string();
    if (is_batch_counter(key)) continue;
    std::string where = entry.path().string();
    slots.slot(key, where);  // an unknown name is refused before its file is read
    slots.put(key, read_npy(where), where);
  }
  return slots.finish(partial);
}

int64_t assign_weights(Network& net, std::vector<std::pair<std::string, Tensor>> tensors,
                       const std::string& source, bool partial) {
  WeightSlots slots(net, source, "");
  for (auto& [key, t] : tensors)
    if (!is_batch_counter(key)) slots.put(key, std::move(t), source + ": " + key);
  return slots.finish(partial);
}

void check_weights_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    NASX_USER_CHECK(fs::is_directory(st), "--save-weights ", dir,
                    ": it exists and is not a directory");
    // A folder of .npy files (an earlier save) is written over; anything else is the user's.
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      NASX_USER_CHECK(e.path().extension() == ".npy" || name.find(".tmp.") != std::string::npos,
                      "--save-weights ", dir, " holds ", name,
                      ", not a weights folder: choose a new or empty folder");
    }
  }
  fs::create_directories(dir, ec);
  NASX_USER_CHECK(!ec, "--save-weights ", dir, ": cannot create it: ", ec.message());
  NASX_USER_CHECK(access(dir.c_str(), W_OK) == 0, "--save-weights ", dir, ": not writable");
}

void save_weights(const Network& net, const std::string& dir) {
  namespace fs = std::filesystem;
  check_weights_dir(dir);
  // Written into DIR.tmp.PID.N beside it and moved into place at the end: Ctrl-C midway leaves DIR
  // as it was (before: DIR held part of the tensors); the temporary folder it leaves (the signal
  // handler removes registered files, not folders, and a network has hundreds of tensors) is
  // removed by the next save to DIR.
  remove_orphaned_temps_of(dir);
  std::string tmp = temp_name_for(fs::path(dir).lexically_normal().string());
  std::error_code ec;
  fs::create_directories(tmp, ec);
  NASX_USER_CHECK(!ec, "--save-weights ", dir, ": cannot create ", tmp, ": ", ec.message());
  for (const Node& n : net.nodes) {
    std::vector<ParamSpec> specs = param_specs(n.op);
    for (size_t p = 0; p < specs.size(); ++p)
      write_npy(tmp + "/" + n.name + "." + specs[p].name + ".npy", n.params[p]);
  }
  // The earlier save's files (check_weights_dir allowed only .npy) are replaced by the new ones.
  for (const auto& e : fs::directory_iterator(tmp)) {
    fs::path target = fs::path(dir) / e.path().filename();
    fs::rename(e.path(), target, ec);
    NASX_USER_CHECK(!ec, "--save-weights ", dir, ": cannot move ", target.string(),
                    " into place: ", ec.message());
  }
  fs::remove(tmp, ec);
}

}  // namespace nasx
