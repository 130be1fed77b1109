// Networks without LibTorch: zoo parameter counts, torchvision names, channel coupling, the
// structure produced by folding and fusion, the memory plan, .npy files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/fold_batch_norm.h"
#include "graph/fuse_epilogues.h"
#include "graph/zoo.h"
#include "runtime/memory_plan.h"
#include "support/error.h"
#include "support/npy.h"

namespace nasx {
namespace {

TEST(Zoo, ParameterCountsAreTorchvisions) {
  std::vector<std::pair<std::string, int64_t>> expected = {
      {"resnet18", 11689512},         {"resnet34", 21797672},       {"resnet50", 25557032},
      {"resnext50_32x4d", 25028904},  {"densenet121", 7978856},     {"densenet161", 28681000},
      {"resnet18_cifar", 11173962},   {"resnet34_cifar", 21282122}, {"resnet50_cifar", 23520842},
      {"resnext29_8x64d", 34426698},  {"resnext29_2x64d", 9130314}, {"densenet121_cifar", 6956426},
      {"densenet161_cifar", 26482570}};
  ASSERT_EQ(expected.size(), zoo_models().size());
  for (const auto& [name, params] : expected) {
    Network n = build_zoo_model(name);
    EXPECT_EQ(n.params(), params) << name;
    int64_t stored = 0;
    for (const Node& node : n.nodes)
      for (size_t p = 0; p < node.params.size(); ++p)
        if (!std::holds_alternative<BatchNorm>(node.op) || p < 2) stored += node.params[p].size();
    EXPECT_EQ(stored, params) << name << ": tensors held must match the count";
  }
}

TEST(Zoo, MacsMatchPublishedFigures) {
  EXPECT_EQ(build_zoo_model("resnet18").macs(), 1814073344);  // torchvision: 1.81 GMACs
  EXPECT_EQ(build_zoo_model("resnet50").macs(), 4089184256);  // torchvision: 4.09 GMACs
}

TEST(Zoo, TorchvisionLayerNames) {
  Network r = build_zoo_model("resnet50");
  for (const char* name : {"conv1", "bn1", "layer1.0.conv1", "layer1.0.downsample.0",
                           "layer1.0.downsample.1", "layer4.2.conv3", "fc"})
    EXPECT_GE(r.find(name), 0) << name;
  Network d = build_zoo_model("densenet121");
  for (const char* name :
       {"features.conv0", "features.norm0", "features.denseblock1.denselayer1.conv1",
        "features.transition3.conv", "features.denseblock4.denselayer16.conv2", "features.norm5",
        "classifier"})
    EXPECT_GE(d.find(name), 0) << name;
}

TEST(Zoo, SameSeedSameWeightsOtherSeedOtherWeights) {
  Network a = build_zoo_model("resnet18_cifar", {7});
  Network b = build_zoo_model("resnet18_cifar", {7});
  Network c = build_zoo_model("resnet18_cifar", {8});
  int k = a.find("layer2.0.conv1");
  EXPECT_EQ(a.nodes[k].params[0].data, b.nodes[k].params[0].data);
  EXPECT_NE(a.nodes[k].params[0].data, c.nodes[k].params[0].data);
}

TEST(Zoo, UnknownModelNamesTheZoo) {
  try {
    build_zoo_model("resnet19");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown model 'resnet19'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("resnet34_cifar"), std::string::npos);
  }
}

TEST(Coupling, ResidualChannelsAreCoupledInnerWidthsAreFree) {
  Network r = build_zoo_model("resnet34_cifar");
  ChannelCoupling c = analyze_channel_coupling(r);
  EXPECT_TRUE(c.free(r.find("layer2.1.conv1")));   // a block's inner width
  EXPECT_FALSE(c.free(r.find("layer2.1.conv2")));  // feeds the residual add
  EXPECT_FALSE(c.free(r.find("layer2.0.downsample.0")));
  EXPECT_NE(c.class_why[c.class_of[r.find("layer2.1.conv2")]].find("coupled by add"),
            std::string::npos);
  Network d = build_zoo_model("densenet121_cifar");
  ChannelCoupling dc = analyze_channel_coupling(d);
  EXPECT_TRUE(dc.free(d.find("features.denseblock1.denselayer1.conv1")));
  EXPECT_FALSE(dc.free(d.find("features.denseblock1.denselayer1.conv2")));  // into the concat
}

int count(const Network& n, size_t kind) {
  int c = 0;
  for (const Node& node : n.nodes) c += node.op.index() == kind;
  return c;
}

TEST(Passes, FoldAndFuseLeaveOneKernelPerConvInResNet) {
  Network r = build_zoo_model("resnet18_cifar");
  Network f = fuse_epilogues(fold_batch_norm(r));
  EXPECT_EQ(count(f, Op(BatchNorm{}).index()), 0);
  EXPECT_EQ(count(f, Op(Relu{}).index()), 0);
  EXPECT_EQ(count(f, Op(ResidualAdd{}).index()), 0);
  EXPECT_EQ(count(f, Op(FusedConv{}).index()) + count(f, Op(ConvProgram{}).index()), 20);
  int k = f.find("layer1.0.conv2");
  ASSERT_GE(k, 0);
  const FusedConv& fc = std::get<FusedConv>(f.nodes[k].op);
  EXPECT_TRUE(fc.residual && fc.relu && fc.program.bias);
  // Each folded batch norm's 2C parameters become a C-entry conv bias.
  int64_t bn_channels = 0;
  for (const Node& n : r.nodes)
    if (auto* bn = std::get_if<BatchNorm>(&n.op)) bn_channels += bn->channels;
  EXPECT_EQ(f.params(), r.params() - bn_channels);
}

TEST(Passes, DenseNetKeepsPreActivationNormsFusedWithTheirRelu) {
  Network d = fuse_epilogues(fold_batch_norm(build_zoo_model("densenet121_cifar")));
  int k = d.find("features.denseblock1.denselayer1.norm1");
  ASSERT_GE(k, 0);
  EXPECT_TRUE(std::get<BatchNorm>(d.nodes[k].op).relu);
  EXPECT_LT(d.find("features.denseblock1.denselayer1.norm2"), 0) << "folded into conv1";
}

TEST(MemoryPlan, ReusesBuffersAndNeverAliasesAnInputWithItsOutput) {
  Network r = fuse_epilogues(fold_batch_norm(build_zoo_model("resnet50_cifar")));
  std::vector<Shape> shapes = r.infer_shapes(1);
  MemoryPlan plan = plan_memory(r, shapes);
  EXPECT_LT(plan.arena_floats * 4, plan.unplanned_floats);
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    EXPECT_GE(plan.slot_size[plan.slot_of[i]], num_elements(shapes[i]));
    for (int k : r.nodes[i].inputs) {
      if (k != kNetworkInput) {
        EXPECT_NE(plan.slot_of[k], plan.slot_of[i]) << r.nodes[i].name;
      }
    }
  }
  // Live tensors never share a slot: replay the schedule.
  std::vector<int> owner(plan.slot_size.size(), -1);
  std::vector<size_t> last(r.nodes.size(), r.nodes.size());
  for (size_t i = 0; i < r.nodes.size(); ++i)
    for (int k : r.nodes[i].inputs)
      if (k != kNetworkInput) last[k] = i;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    int s = plan.slot_of[i];
    if (owner[s] >= 0) {
      EXPECT_LE(last[owner[s]], i) << "slot reused while live";
    }
    owner[s] = static_cast<int>(i);
  }
}

class Npy : public ::testing::Test {
 protected:
  std::string path(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / "nasx-npy-test";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
  }
};

TEST_F(Npy, RoundTrip) {
  Tensor t = Tensor::random_normal({2, 3, 4, 5}, 1);
  write_npy(path("a.npy"), t);
  Tensor u = read_npy(path("a.npy"));
  EXPECT_EQ(u.shape, t.shape);
  EXPECT_EQ(u.data, t.data);
  write_npy(path("v.npy"), Tensor::random_normal({7}, 2));
  EXPECT_EQ(read_npy(path("v.npy")).shape, Shape{7});
}

TEST_F(Npy, MalformedTruncatedAndWrongTypeAreClearErrors) {
  write_npy(path("b.npy"), Tensor::random_normal({4, 4}, 1));
  std::string bytes;
  {
    std::ifstream f(path("b.npy"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto write = [&](const std::string& name, const std::string& b) {
    std::ofstream(path(name), std::ios::binary) << b;
    return path(name);
  };
  auto expect = [&](const std::string& p, const std::string& fragment) {
    try {
      read_npy(p);
      FAIL() << p;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect(write("trunc.npy", bytes.substr(0, bytes.size() - 5)), "truncated");
  expect(write("junk.npy", "hello world, not numpy"), "missing magic");
  std::string f8 = bytes;
  f8.replace(f8.find("<f4"), 3, "<f8");
  expect(write("f8.npy", f8), "dtype '<f8'");
  expect(path("missing.npy"), "cannot open");
}

}  // namespace
}  // namespace nasx
