// One legality verdict's cost under the default rule (Fisher and SNIP, 3 paired samples), before
// and after the shared gradient pass, in one run: per sample, the candidate is rebuilt from the
// reference and transformed, then its proxies are computed either each in its own forward and
// backward pass (as verdicts did before) or together in one (compute_proxies). Interleaved
// rounds, median with min-max; the values are checked equal before any time counts.
//   nasx-verdict-bench [MODEL] [--batch 64] [--rounds 5] [--apply 'LAYERS: SEQUENCE']
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "graph/arch.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "search/rule.h"
#include "support/json.h"
#include "support/timing.h"
#include "torch/datasets.h"
#include "torch/proxies.h"
#include "torch/reference.h"
#include "transform/sequence.h"

using namespace nasx;

int main(int argc, char** argv) {
  std::string model = "resnet34_cifar", layers = "layer2.*.conv1", sequence = "group(4)";
  int64_t batch = 64;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc)
      batch = std::stoll(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoi(argv[++i]);
    else if (a == "--apply" && i + 1 < argc) {
      std::string s = argv[++i];
      layers = s.substr(0, s.find(':'));
      sequence = s.substr(s.find(':') + 2);
    } else
      model = a;
  }
  set_torch_threads(2);
  const LegalityRule& rule = legality_rules().front();
  std::string data =
      std::filesystem::exists("/usr/share/datasets/fashion-mnist") ? "fashion-mnist" : "synthetic";
  Network reference = build_zoo_model(model, {0, 0});
  std::vector<std::string> names = match_conv_layers(reference, layers);
  NeuralSequence seq = parse_sequence(sequence);
  Minibatch mb = load_minibatch(DatasetSpec::parse(data), reference.input_chw,
                                reference.num_classes, batch, 0);
  using Clock = std::chrono::steady_clock;
  auto sample = [&](bool shared, std::vector<ProxyResult>& out) {
    auto t0 = Clock::now();
    Network candidate = reference;
    transform_layers(candidate, names, seq, 0);
    if (shared) {
      out = compute_proxies(candidate, mb, rule.proxies);
    } else {
      out.clear();
      for (const std::string& p : rule.proxies) out.push_back(compute_proxy(candidate, mb, p));
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  {  // where one sample's time goes: rebuilding the candidate, and the shared pass
    auto t0 = Clock::now();
    Network candidate = reference;
    transform_layers(candidate, names, seq, 0);
    auto t1 = Clock::now();
    compute_proxies(candidate, mb, rule.proxies);
    auto t2 = Clock::now();
    std::printf("one sample: candidate copied and transformed %.3f s, proxies %.3f s\n",
                std::chrono::duration<double>(t1 - t0).count(),
                std::chrono::duration<double>(t2 - t1).count());
  }
  std::vector<ProxyResult> a, b;
  sample(false, a);
  sample(true, b);
  for (size_t p = 0; p < a.size(); ++p)
    if (std::abs(a[p].total - b[p].total) > 1e-6 * std::abs(a[p].total)) {
      std::fprintf(stderr, "%s differs: %g against %g\n", a[p].proxy.c_str(), a[p].total,
                   b[p].total);
      return 1;
    }
  std::vector<double> apart, together;
  for (int r = 0; r < rounds; ++r) {
    apart.push_back(sample(false, a) * rule.samples);
    together.push_back(sample(true, b) * rule.samples);
  }
  TimingStats sa = summarize(apart), st = summarize(together);
  std::printf("%s, batch %lld, %s: %s on %zu layers; one verdict = %d samples of %s\n",
              model.c_str(), (long long)batch, data.c_str(), sequence.c_str(), names.size(),
              rule.samples, rule.proxy_list().c_str());
  std::printf("  each proxy its own pass: %.2f s (%.2f-%.2f)\n", sa.median_ms, sa.min_ms,
              sa.max_ms);
  std::printf("  one shared pass:         %.2f s (%.2f-%.2f)\n", st.median_ms, st.min_ms,
              st.max_ms);
  std::printf("  ratio after / before:    %.2f\n", st.median_ms / sa.median_ms);
  Json j{{"model", model},
         {"batch", batch},
         {"proxies", rule.proxies},
         {"samples", rule.samples},
         {"apart_s", sa.median_ms},
         {"apart_min_s", sa.min_ms},
         {"apart_max_s", sa.max_ms},
         {"shared_s", st.median_ms},
         {"shared_min_s", st.min_ms},
         {"shared_max_s", st.max_ms},
         {"rounds", rounds}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
