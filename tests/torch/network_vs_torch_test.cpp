// Every zoo model, compiled (folded, fused, memory-planned), against its LibTorch twin at batch 1
// and 2. ImageNet models run at 64x64 here to keep the suite fast; the benchmark uses 224.
// Also: BN folding and fusion are each equivalence-checked with random BN statistics.
#include <gtest/gtest.h>

#include <random>

#include "graph/arch.h"
#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "graph/zoo.h"
#include "runtime/compiled_network.h"
#include "torch/twin.h"

namespace nasx {
namespace {

// Non-trivial batch norms (the zoo initialises them to the identity).
void randomize_batch_norms(Network& net, uint64_t seed) {
  for (Node& n : net.nodes) {
    if (!std::holds_alternative<BatchNorm>(n.op)) continue;
    Shape s = n.params[0].shape;
    n.params[0] = Tensor::random_uniform(s, seed++, 0.5f, 1.5f);
    n.params[1] = Tensor::random_normal(s, seed++, 0.1f);
    n.params[2] = Tensor::random_normal(s, seed++, 0.1f);
    n.params[3] = Tensor::random_uniform(s, seed++, 0.5f, 2.0f);
  }
}

class ZooModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModel, CompiledMatchesTwinAtBatch1And2) {
  bool imagenet = build_zoo_model(GetParam()).input_chw[1] == 224;
  Network net = build_zoo_model(GetParam(), {3, imagenet ? 64 : 0});
  randomize_batch_norms(net, 11);
  TorchTwin twin(net);
  for (int64_t batch : {1, 2}) {
    CompiledNetwork compiled = CompiledNetwork::compile(net, batch);
    Tensor x = Tensor::random_normal(net.input_shape(batch), 5 + batch);
    Agreement a = compare(compiled.run(x), twin.forward(x));
    EXPECT_LE(a.max_rel_err, 1e-4) << GetParam() << " batch " << batch;
  }
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> names;
  for (const ZooEntry& e : zoo_models()) names.push_back(e.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(zoo_names()),
                         [](const auto& info) { return info.param; });

TEST(Passes, FoldingAndFusionPreserveTheFunction) {
  for (const char* name : {"resnet18_cifar", "densenet121_cifar"}) {
    Network net = build_zoo_model(name, {1});
    randomize_batch_norms(net, 21);
    Tensor x = Tensor::random_normal(net.input_shape(2), 4);
    Tensor want = TorchTwin(net).forward(x);
    Network folded = fold_batch_norm(net);
    EXPECT_LT(folded.nodes.size(), net.nodes.size());
    EXPECT_LE(compare(TorchTwin(folded).forward(x), want).max_rel_err, 1e-5) << name << " fold";
    Network fused = fuse_epilogues(folded);
    EXPECT_LE(compare(TorchTwin(fused).forward(x), want).max_rel_err, 1e-5) << name << " fuse";
    Network fused_only = fuse_epilogues(net);
    EXPECT_LE(compare(TorchTwin(fused_only).forward(x), want).max_rel_err, 1e-5) << name;
  }
}

// Transformed networks, compiled, against their twins (both lowerings of every program).
TEST(TransformedNetworks, CompiledMatchesTwin) {
  struct Case {
    std::string model;
    std::vector<std::string> apply;
  };
  for (const Case& c :
       {Case{"resnet34_cifar", {"layer2.*.conv1: group(4)"}},
        Case{"resnet18_cifar",
             {"layer3.*.conv1: split(4); group([1,2,4,8])", "layer4.*.conv1: peel(8); group(4)",
              "layer1.*.conv2: spatial_split(2)", "layer2.1.conv1: bottleneck(2); group(4)"}},
        Case{"densenet121_cifar",
             {"features.denseblock1.*.conv1: bottleneck(2)",
              "features.denseblock2.*.conv2: group(4)"}}}) {
    Network net = build_zoo_model(c.model, {2});
    Arch arch{c.model, 2, 0, 1.0, {}, {}};
    for (const std::string& spec : c.apply) apply_to_layers(net, arch, spec);
    randomize_batch_norms(net, 31);
    CompiledNetwork compiled = CompiledNetwork::compile(net, 2);
    Tensor x = Tensor::random_normal(net.input_shape(2), 8);
    EXPECT_LE(compare(compiled.run(x), TorchTwin(net).forward(x)).max_rel_err, 1e-4) << c.model;
  }
}

// Random sequences on random convolutions of zoo networks: each is either rejected with a
// UserError naming the layer, or compiles and agrees with the twin.
TEST(TransformedNetworks, RandomSequencesAreRejectedOrAgree) {
  std::mt19937_64 rng(77);
  const std::vector<std::string> sequences = {"group(2)",
                                              "group(4)",
                                              "depthwise",
                                              "bottleneck(2)",
                                              "split(2); group([1,2])",
                                              "split(4); group([1,2,4,8])",
                                              "peel(8); group(4)",
                                              "spatial_split(2)",
                                              "bottleneck(2); group(4)",
                                              "peel(3)",
                                              "group(3)",
                                              "spatial_split(3)"};
  int applied = 0, rejected = 0, agreed = 0;
  for (const char* model : {"resnet18_cifar", "resnext29_2x64d", "densenet121_cifar"}) {
    Network net = build_zoo_model(model, {4});
    std::vector<std::string> convs;
    for (const Node& n : net.nodes)
      if (std::holds_alternative<ConvProgram>(n.op)) convs.push_back(n.name);
    Arch arch{model, 4, 0, 1.0, {}, {}};
    for (int step = 0; step < 6; ++step) {
      std::string layer = convs[std::uniform_int_distribution<size_t>(0, convs.size() - 1)(rng)];
      std::string seq =
          sequences[std::uniform_int_distribution<size_t>(0, sequences.size() - 1)(rng)];
      try {
        apply_to_layers(net, arch, layer + ": " + seq);
        ++applied;
      } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find(layer), std::string::npos) << e.what();
        ++rejected;
      }
    }
    randomize_batch_norms(net, 41);
    CompiledNetwork compiled = CompiledNetwork::compile(net, 1);
    Tensor x = Tensor::random_normal(net.input_shape(1), 9);
    double err = compare(compiled.run(x), TorchTwin(net).forward(x)).max_rel_err;
    EXPECT_LE(err, 1e-4) << model << ": " << arch.to_json().dump();
    agreed += err <= 1e-4;
  }
  EXPECT_GT(applied, 0);
  EXPECT_EQ(agreed, 3);  // every transformed network agrees with its twin
  EXPECT_GT(rejected, 0);
}

TEST(Runtime, RepeatedRunsAreIdenticalAndInputShapeIsChecked) {
  Network net = build_zoo_model("resnet18_cifar");
  CompiledNetwork c = CompiledNetwork::compile(net, 1);
  Tensor x = Tensor::random_normal(net.input_shape(1), 9);
  Tensor a = c.run(x), b = c.run(x);
  EXPECT_EQ(a.data, b.data);
  EXPECT_THROW(c.run(Tensor::random_normal({1, 3, 16, 16}, 1)), UserError);
}

}  // namespace
}  // namespace nasx
