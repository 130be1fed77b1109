// Verification by training (src/torch/verify): the verdict's boundaries, a resumable run that
// trains the original with each seed and the transformed network, and the folder refusing a
// verification of another recipe. Tiny: resnet18_cifar at width 1/16, one epoch on synthetic data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/arch.h"
#include "graph/zoo.h"
#include "support/error.h"
#include "torch/verify.h"

namespace nasx {
namespace {

namespace fs = std::filesystem;

TEST(Verify, VerdictBoundaries) {
  EXPECT_EQ(verify_verdict(0.0, 0.2, 1.0), "within noise");
  EXPECT_EQ(verify_verdict(-0.2, 0.2, 1.0), "within noise");
  EXPECT_EQ(verify_verdict(0.5, 0.2, 1.0), "kept");   // better beyond the noise
  EXPECT_EQ(verify_verdict(-1.2, 0.2, 1.0), "kept");  // exactly the tolerance beyond it
  EXPECT_EQ(verify_verdict(-1.3, 0.2, 1.0), "lost");
  EXPECT_EQ(verify_verdict(-0.1, 0.0, 0.0), "lost");
}

Arch grouped() {
  Arch a;
  a.base = "resnet18_cifar";
  a.width = 0.0625;
  Network net = a.build();
  apply_to_layers(net, a, "layer*.*.conv1: group(2)");
  return a;
}

VerifyOptions tiny(const fs::path& out) {
  VerifyOptions o;
  o.recipe.data = DatasetSpec::parse("synthetic");
  o.recipe.epochs = 1;
  o.recipe.batch = 32;
  o.recipe.subset = 128;
  o.recipe.test_subset = 64;
  o.seeds = 2;
  o.out = out.string();
  return o;
}

TEST(Verify, TrainsEachSeedResumesAndKeepsItsIdentity) {
  fs::path dir = fs::temp_directory_path() / "nasx_verify_test";
  fs::remove_all(dir);
  Arch arch = grouped();
  int calls = 0;
  VerifyReport r = verify_architecture(arch, tiny(dir), [&](const VerifyProgress& p) {
    ++calls;
    EXPECT_EQ(p.runs, 3);
    EXPECT_GE(p.left_all, 0.0);
  });
  EXPECT_GT(calls, 0);
  ASSERT_EQ(r.original.size(), 2u);
  ASSERT_EQ(r.transformed.size(), 1u);
  EXPECT_LT(r.transformed_params, r.original_params);
  EXPECT_DOUBLE_EQ(r.difference, r.transformed_mean - r.original_mean);
  EXPECT_EQ(r.verdict, verify_verdict(r.difference, r.noise, r.tolerance));
  EXPECT_EQ(VerifyReport::from_json(r.to_json()).to_json(), r.to_json());

  // Killed after the last training but before its line: that run is redone from its complete
  // checkpoint and gives the same accuracy; nothing else is trained again.
  std::vector<std::string> lines;
  {
    std::ifstream f(dir / "runs.jsonl");
    for (std::string l; std::getline(f, l);) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 3u);
  {
    std::ofstream f(dir / "runs.jsonl", std::ios::trunc);
    f << lines[0] << "\n" << lines[1] << "\n" << lines[2].substr(0, 10);  // a torn line
  }
  VerifyReport again = verify_architecture(arch, tiny(dir), {});
  EXPECT_EQ(again.transformed_mean, r.transformed_mean);
  EXPECT_EQ(again.original_mean, r.original_mean);

  VerifyOptions other = tiny(dir);
  other.recipe.epochs = 2;
  EXPECT_THROW(verify_architecture(arch, other, {}), UserError);
  Arch plain = arch;
  plain.steps.clear();
  EXPECT_THROW(verify_architecture(plain, tiny(dir / "plain"), {}), UserError);
  fs::create_directories(dir / "user");
  std::ofstream(dir / "user" / "notes.txt") << "mine";
  EXPECT_THROW(verify_architecture(arch, tiny(dir / "user"), {}), UserError);
  EXPECT_TRUE(fs::exists(dir / "user" / "notes.txt"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace nasx
