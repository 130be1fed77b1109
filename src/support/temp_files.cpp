#include "support/temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

namespace nasx {
namespace {

namespace fs = std::filesystem;

// A fixed table, so the signal handler reads it without allocating or locking.
constexpr int kSlots = 64;
constexpr size_t kPathMax = 4096;
char g_paths[kSlots][kPathMax];
// 0 free, 1 claimed (the path is being copied), 2 published (the handler may unlink it).
std::atomic<int> g_state[kSlots];

}  // namespace

std::string temp_name_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

TempFile::TempFile(std::string path) : path_(std::move(path)) {
  if (path_.size() >= kPathMax) return;  // too long to register: swept later if orphaned
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_state[i].compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_paths[i], path_.c_str(), path_.size() + 1);
    g_state[i].store(2, std::memory_order_release);
    slot_ = i;
    return;
  }
}

TempFile::~TempFile() {
  if (!released_) {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  if (slot_ >= 0) g_state[slot_].store(0);  // after the removal: the handler never sees a gap
}

void TempFile::release() {
  released_ = true;
}

void remove_registered_temps() noexcept {
  for (int i = 0; i < kSlots; ++i)
    if (g_state[i].load(std::memory_order_acquire) == 2) unlink(g_paths[i]);
}

namespace {

int remove_orphans(const fs::path& dir, const std::string& stem) {
  int removed = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    size_t at = name.find(".tmp.");
    if (at == std::string::npos) continue;
    if (!stem.empty() && name.compare(0, at, stem) != 0) continue;
    long pid = std::strtol(name.c_str() + at + 5, nullptr, 10);
    bool gone = pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    std::error_code tec;
    auto written = fs::last_write_time(it->path(), tec);
    bool stale = !tec && now - written > std::chrono::hours(24);
    // A folder of that name (a save killed midway) goes with its contents.
    if ((gone || stale) && pid != getpid() && fs::remove_all(it->path(), tec) > 0) ++removed;
  }
  return removed;
}

}  // namespace

// Directories this process swept whole: a write into one (the kernel cache's sources, one per
// kernel) need not scan it again for its own path's orphans.
static std::mutex g_swept_mutex;
static std::set<std::string> g_swept;

int remove_orphaned_temps(const fs::path& dir) {
  {
    std::lock_guard<std::mutex> lock(g_swept_mutex);
    g_swept.insert(fs::absolute(dir).lexically_normal().string());
  }
  return remove_orphans(dir, "");
}

int remove_orphaned_temps_of(const std::string& path) {
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  {
    std::lock_guard<std::mutex> lock(g_swept_mutex);
    if (g_swept.count(fs::absolute(dir).lexically_normal().string())) return 0;
  }
  return remove_orphans(dir, p.filename().string());
}

}  // namespace nasx
