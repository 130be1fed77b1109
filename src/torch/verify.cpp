#include "torch/verify.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/error.h"
#include "support/file.h"
#include "support/format.h"
#include "support/progress.h"

namespace nasx {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

Json recipe_json(const TrainOptions& o) {
  Json j = o.to_json();
  j.erase("seed");
  return j;
}

Arch original_of(const Arch& transformed) {
  Arch a = transformed;
  a.applied.clear();
  a.steps.clear();
  return a;
}

double mean(const std::vector<VerifyRun>& runs) {
  double s = 0;
  for (const VerifyRun& r : runs) s += r.test_accuracy;
  return runs.empty() ? 0.0 : s / double(runs.size());
}

std::vector<VerifyRun> read_runs(const std::string& path) {
  std::vector<VerifyRun> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(VerifyRun::from_json(Json::parse(line)));
    } catch (const std::exception&) {
      // A torn last line of a killed run: that training is redone from its checkpoint.
    }
  }
  return out;
}

}  // namespace

VerifyOptions::VerifyOptions() {
  recipe.epochs = 10;
  recipe.subset = 10000;
  recipe.test_subset = 2000;
  recipe.batch = 128;
  recipe.lr = 0.1;
}

Json VerifyRun::to_json() const {
  return Json{{"network", network},
              {"seed", seed},
              {"test_accuracy", test_accuracy},
              {"seconds", seconds},
              {"params", params}};
}

VerifyRun VerifyRun::from_json(const JsonIn& j) {
  VerifyRun r;
  r.network = j.require("network").as_string();
  r.seed = static_cast<uint64_t>(j.require("seed").as_integer());
  r.test_accuracy = j.require("test_accuracy").as_real();
  r.seconds = j.real("seconds");
  r.params = j.integer("params");
  return r;
}

std::string verify_verdict(double difference, double noise, double tolerance) {
  if (std::abs(difference) <= noise) return "within noise";
  if (difference >= -noise - tolerance) return "kept";  // better, or a loss within the tolerance
  return "lost";
}

Json VerifyReport::to_json() const {
  Json o = Json::array(), t = Json::array();
  for (const VerifyRun& r : original) o.push_back(r.to_json());
  for (const VerifyRun& r : transformed) t.push_back(r.to_json());
  return Json{{"arch", arch},
              {"recipe", recipe},
              {"tolerance", tolerance},
              {"original", o},
              {"transformed", t},
              {"original_mean", original_mean},
              {"noise", noise},
              {"transformed_mean", transformed_mean},
              {"difference", difference},
              {"original_params", original_params},
              {"transformed_params", transformed_params},
              {"verdict", verdict},
              {"seconds", seconds}};
}

VerifyReport VerifyReport::from_json(const JsonIn& j) {
  VerifyReport r;
  r.arch = j.require("arch").json();
  r.recipe = j.require("recipe").json();
  r.tolerance = j.require("tolerance").as_real();
  j.require("original");
  j.require("transformed");
  for (const JsonIn& x : j.list("original")) r.original.push_back(VerifyRun::from_json(x));
  for (const JsonIn& x : j.list("transformed")) r.transformed.push_back(VerifyRun::from_json(x));
  r.original_mean = j.require("original_mean").as_real();
  r.noise = j.require("noise").as_real();
  r.transformed_mean = j.require("transformed_mean").as_real();
  r.difference = j.require("difference").as_real();
  r.original_params = j.integer("original_params");
  r.transformed_params = j.integer("transformed_params");
  r.verdict = j.require("verdict").as_string();
  r.seconds = j.real("seconds");
  return r;
}

std::string VerifyReport::summary() const {
  std::ostringstream s;
  s << verdict << ": " << fmt(transformed_mean, "%.2f") << "% against the original's "
    << fmt(original_mean, "%.2f") << "% (" << fmt(difference, "%+.2f") << " points; training noise "
    << fmt(noise, "%.2f") << ", over " << original.size() << " seed"
    << (original.size() == 1 ? "" : "s") << ")";
  if (verdict == "kept" && difference > noise) s << ": better than the original beyond the noise";
  if (verdict == "kept" && difference < -noise)
    s << ": loses at most " << fmt(tolerance, "%g") << " point beyond the noise";
  if (verdict == "lost")
    s << ": loses more than " << fmt(tolerance, "%g") << " point beyond the noise";
  return s.str();
}

std::string verify_markdown(const VerifyReport& r) {
  std::ostringstream s;
  s << "## Verified by training\n\n"
    << "The original and the returned network trained with one recipe (`nasx verify`: "
    << r.recipe.dump() << "), accuracy on the whole test split.\n\n"
    << "**" << r.summary() << ".**\n\n"
    << "| network | seed | test accuracy | parameters | training |\n|---|---|---|---|---|\n";
  for (const auto* runs : {&r.original, &r.transformed})
    for (const VerifyRun& v : *runs)
      s << "| " << v.network << " | " << v.seed << " | " << fmt(v.test_accuracy, "%.2f") << "% | "
        << with_commas(v.params) << " | " << format_duration(v.seconds) << " |\n";
  s << "\nVerdicts: *within noise* (no loss beyond the original's seed spread), *kept* (loses at "
       "most "
    << fmt(r.tolerance, "%g")
    << " point beyond it, the criterion docs/legality.md calibrates on), *lost*.\n";
  return s.str();
}

VerifyReport verify_architecture(const Arch& arch, const VerifyOptions& options,
                                 const std::function<void(const VerifyProgress&)>& progress) {
  NASX_USER_CHECK(options.seeds >= 1 && options.seeds <= 16, "--seeds must be 1-16, got ",
                  options.seeds);
  NASX_USER_CHECK(options.transformed_seeds >= 1 && options.transformed_seeds <= 16,
                  "--transformed-seeds must be 1-16, got ", options.transformed_seeds);
  NASX_USER_CHECK(!arch.steps.empty(),
                  "the architecture has no transformation steps: there is "
                  "nothing to verify against its original");
  NASX_USER_CHECK(!options.out.empty(), "verify needs an output directory (--out)");
  const std::string& dir = options.out;
  NASX_USER_CHECK(!fs::exists(dir) || fs::is_directory(dir), "--out ", dir,
                  " exists and is not a directory");
  std::error_code ec;
  fs::create_directories(dir, ec);
  NASX_USER_CHECK(!ec, "cannot create ", dir, ": ", ec.message());

  VerifyReport r;
  r.arch = arch.to_json();
  r.recipe = recipe_json(options.recipe);
  r.tolerance = options.tolerance;
  Json identity{{"format", "nasx-verify"}, {"version", 1},
                {"arch", r.arch},          {"recipe", r.recipe},
                {"seeds", options.seeds},  {"transformed_seeds", options.transformed_seeds}};
  const std::string ident_path = dir + "/verify.json";
  if (fs::exists(ident_path)) {
    Json old = read_json_file(ident_path, "the verification", "not a nasx verify folder");
    NASX_USER_CHECK(old.is_object() && old.value("format", "") == "nasx-verify", ident_path,
                    " is not a nasx verify file; choose another --out");
    for (const char* key : {"arch", "recipe", "seeds", "transformed_seeds"})
      NASX_USER_CHECK(old.contains(key) && old[key] == identity[key], dir,
                      " holds the verification of another ", key, " (",
                      old.value(key, Json()).dump(), "); choose another --out or remove it");
  } else {
    NASX_USER_CHECK(fs::is_empty(dir), dir,
                    " exists and holds no nasx verification; choose an empty or new --out");
    write_file_atomically(ident_path, identity.dump(2) + "\n");
  }

  struct Planned {
    std::string network;
    uint64_t seed;
  };
  std::vector<Planned> plan;
  for (int64_t k = 0; k < options.seeds; ++k) plan.push_back({"original", uint64_t(k)});
  for (int64_t k = 0; k < options.transformed_seeds; ++k)
    plan.push_back({"transformed", uint64_t(k)});

  const std::string runs_path = dir + "/runs.jsonl";
  std::vector<VerifyRun> done = read_runs(runs_path);
  auto find = [&](const Planned& p) -> const VerifyRun* {
    for (const VerifyRun& v : done)
      if (v.network == p.network && v.seed == p.seed) return &v;
    return nullptr;
  };
  const Arch original = original_of(arch);
  double spent = 0;  // seconds of the trainings of this run, for the estimate
  int64_t trained = 0, missing = 0;
  for (const Planned& p : plan) missing += find(p) ? 0 : 1;
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    if (find(p)) continue;
    Arch a = p.network == "original" ? original : arch;
    a.seed = p.seed;
    Network net = a.build();
    TrainOptions o = options.recipe;
    o.seed = p.seed;
    o.out = dir + "/" + p.network + ".seed" + std::to_string(p.seed);
    o.model = p.network + " of " + arch.base;
    o.resume = fs::exists(o.out + "/checkpoint.json");
    const int64_t left_after = missing - trained - 1;
    auto t0 = Clock::now();
    train_network(
        net, o,
        [&](const TrainProgress& tp) {
          if (!progress) return;
          double this_total = tp.elapsed + tp.left;
          double per = trained > 0 ? std::max(spent / double(trained), this_total) : this_total;
          progress(VerifyProgress{int64_t(i + 1), int64_t(plan.size()), p.network, p.seed, tp,
                                  tp.left + per * double(left_after)});
        },
        [](const EpochStats&) {});
    DatasetSpec test_spec = o.data;
    test_spec.train = false;
    Minibatch test = load_split(test_spec, net.input_chw, net.num_classes, 0, 0);
    VerifyRun v;
    v.network = p.network;
    v.seed = p.seed;
    v.test_accuracy = torch_accuracy(net, test);
    v.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    v.params = net.params();
    spent += v.seconds;
    ++trained;
    std::ofstream f(runs_path, std::ios::app);
    f << v.to_json().dump() << "\n";
    f.flush();
    NASX_USER_CHECK(bool(f), "cannot write ", runs_path);
    done.push_back(v);
  }

  for (const Planned& p : plan) {
    const VerifyRun& v = *find(p);
    (p.network == "original" ? r.original : r.transformed).push_back(v);
    r.seconds += v.seconds;
  }
  double lo = 1e9, hi = -1e9;
  for (const VerifyRun& v : r.original) {
    lo = std::min(lo, v.test_accuracy);
    hi = std::max(hi, v.test_accuracy);
  }
  r.original_mean = mean(r.original);
  r.noise = (hi - lo) / 2;
  r.transformed_mean = mean(r.transformed);
  r.difference = r.transformed_mean - r.original_mean;
  r.original_params = r.original.front().params;
  r.transformed_params = r.transformed.front().params;
  r.verdict = verify_verdict(r.difference, r.noise, r.tolerance);
  Json out = identity;
  out["result"] = r.to_json();
  write_file_atomically(ident_path, out.dump(2) + "\n");
  return r;
}

}  // namespace nasx
