// nasx-worker: measures kernels of one shared library in isolation (see tune/worker.h). Reads one
// JSON request line on stdin; writes JSON lines on stdout: {"ready": i} after kernel i's first run,
// {"result": i, ...} with its timing, {"done": true} at the end, or {"error": "..."} when the
// library or a symbol cannot be loaded. Deliberately small: no LibTorch, starts in milliseconds.
#include <dlfcn.h>
#include <omp.h>

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "support/json.h"
#include "support/timing.h"

namespace {

using KernelFn = void (*)(float* const* args);

void emit(const nasx::Json& j) {
  std::string s = j.dump() + "\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Kernel {
  KernelFn fn = nullptr;
  std::vector<float*> args;
  int inner = 1;
  std::vector<double> samples;
  void run() { fn(args.data()); }
};

}  // namespace

int main() {
  std::string line;
  if (!std::getline(std::cin, line)) return 2;
  nasx::Json req = nasx::Json::parse(line, nullptr, false);
  if (req.is_discarded()) {
    emit({{"error", "malformed request"}});
    return 2;
  }
  if (const char* t = std::getenv("NASX_NUM_THREADS"); t && std::atoi(t) > 0)
    omp_set_num_threads(std::atoi(t));
  std::string library = req["library"].get<std::string>();
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    emit({{"error", std::string("cannot load ") + library + ": " + dlerror()}});
    return 2;
  }
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  double min_sample_ms = req.value("min_sample_ms", 0.3);
  int warmup = req.value("warmup", 2), repeat = req.value("repeat", 15);
  std::vector<Kernel> kernels;
  for (const nasx::Json& k : req["kernels"]) {
    Kernel kernel;
    std::string symbol = k["symbol"].get<std::string>();
    kernel.fn = reinterpret_cast<KernelFn>(dlsym(handle, symbol.c_str()));
    if (!kernel.fn) {
      emit({{"error", "no symbol " + symbol + " in " + library}});
      return 2;
    }
    for (int64_t n : k["args"].get<std::vector<int64_t>>()) {
      size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
      float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
      for (int64_t i = 0; i < n; ++i) p[i] = dist(rng);
      kernel.args.push_back(p);
    }
    std::string fault = k.value("fault", "");
    if (fault == "crash") kernel.fn = [](float* const*) { std::raise(SIGSEGV); };
    if (fault == "hang")
      kernel.fn = [](float* const*) {
        for (;;) pause();
      };
    kernels.push_back(std::move(kernel));
  }
  // First runs, one kernel at a time: a crash or hang here is pinned on this kernel.
  for (size_t i = 0; i < kernels.size(); ++i) {
    Kernel& k = kernels[i];
    k.run();
    for (int w = 0; w < warmup; ++w) k.run();
    double t0 = now_ms();
    k.run();
    double once = std::max(1e-4, now_ms() - t0);
    k.inner = std::max(1, static_cast<int>(std::ceil(min_sample_ms / once)));
    emit({{"ready", i}});
  }
  // Timed rounds, interleaved.
  for (int r = 0; r < repeat; ++r)
    for (Kernel& k : kernels) {
      double t0 = now_ms();
      for (int i = 0; i < k.inner; ++i) k.run();
      k.samples.push_back((now_ms() - t0) / k.inner);
    }
  for (size_t i = 0; i < kernels.size(); ++i) {
    nasx::TimingStats s = nasx::summarize(kernels[i].samples);
    emit({{"result", i},
          {"median_ms", s.median_ms},
          {"min_ms", s.min_ms},
          {"max_ms", s.max_ms},
          {"repeats", s.repeats}});
  }
  emit({{"done", true}});
  return 0;
}
