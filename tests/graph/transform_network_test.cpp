// Neural transformations on whole networks: hand-computed parameter counts, bottleneck
// propagation to consumers, coupling rejections, all-or-nothing failure, arch files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/arch.h"
#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

TEST(TransformNetwork, GroupOnLayer2Conv1MatchesTheIssueExample) {
  Network net = build_zoo_model("resnet34_cifar");
  Arch arch{"resnet34_cifar", 0, 0, 1.0, {}, {}};
  apply_to_layers(net, arch, "layer2.*.conv1: group(4)");
  EXPECT_EQ(net.params(), 20895050);
  ASSERT_EQ(arch.steps.size(), 1u);
  EXPECT_EQ(arch.steps[0].layers.size(), 4u);
  // group(4) divides that conv's weights by 4
  EXPECT_EQ(param_count(net.nodes[net.find("layer2.1.conv1")].op), 128 * 128 * 9 / 4);
}

TEST(TransformNetwork, BottleneckHalvesTheSharedInnerWidthOfTwoConvs) {
  Network net = build_zoo_model("resnet18_cifar");
  int64_t before = net.params();
  transform_layer(net, "layer2.1.conv1", parse_sequence("bottleneck(2)"), 0);
  const ConvProgram& c1 = std::get<ConvProgram>(net.nodes[net.find("layer2.1.conv1")].op);
  const ConvProgram& c2 = std::get<ConvProgram>(net.nodes[net.find("layer2.1.conv2")].op);
  EXPECT_EQ(c1.out_channels, 64);
  EXPECT_EQ(c2.in_channels, 64);
  EXPECT_EQ(std::get<BatchNorm>(net.nodes[net.find("layer2.1.bn1")].op).channels, 64);
  // conv1 and conv2 each lose half their weights; bn1 loses half its 256 parameters.
  EXPECT_EQ(net.params(), before - 128 * 64 * 9 - 64 * 128 * 9 - 128);
  EXPECT_EQ(net.nodes[net.find("layer2.1.conv2")].params[0].shape, (Shape{128, 64, 3, 3}));
}

TEST(TransformNetwork, BottleneckOnACoupledDimensionIsRejectedAndChangesNothing) {
  Network net = build_zoo_model("resnet18_cifar");
  Network copy = net;
  try {
    transform_layer(net, "layer2.1.conv2", parse_sequence("bottleneck(2)"), 0);
    FAIL();
  } catch (const UserError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("layer2.1.conv2"), std::string::npos) << m;
    EXPECT_NE(m.find("bottleneck(2)"), std::string::npos) << m;
    EXPECT_NE(m.find("coupled by add"), std::string::npos) << m;
  }
  EXPECT_EQ(net.params(), copy.params());
  EXPECT_EQ(net.nodes[net.find("layer2.1.conv2")].params[0].data,
            copy.nodes[copy.find("layer2.1.conv2")].params[0].data);
}

TEST(TransformNetwork, CoupledChannelsChangeWhenEveryProducerChangesTogether) {
  Network net = build_zoo_model("resnet18_cifar");
  int64_t before = net.params();
  // Stage 4's residual stream: every conv writing into it, transformed together.
  Arch arch{"resnet18_cifar", 0, 0, 1.0, {}, {}};
  apply_to_layers(net, arch, "layer4.*.conv2, layer4.0.downsample.0: bottleneck(2)");
  EXPECT_EQ(arch.steps[0].layers.size(), 3u);
  EXPECT_EQ(std::get<ConvProgram>(net.nodes[net.find("layer4.1.conv1")].op).in_channels, 256);
  EXPECT_EQ(std::get<Linear>(net.nodes[net.find("fc")].op).in_features, 256);
  // conv2 x2 and downsample lose half their outputs; layer4.1.conv1 half its inputs; the four
  // stream batch norms half their channels; fc half its inputs.
  int64_t saved = 2 * 256 * 512 * 9 + 256 * 256 + 256 * 512 * 9 + 3 * 2 * 256 + 256 * 10;
  EXPECT_EQ(net.params(), before - saved);

  Network partial = build_zoo_model("resnet18_cifar");
  try {
    transform_layers(partial, {"layer4.0.conv2", "layer4.1.conv2"}, parse_sequence("bottleneck(2)"),
                     0);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("also layer4.0.downsample.0"), std::string::npos)
        << e.what();
  }
}

TEST(TransformNetwork, DenseNetBlockChannelsChangeTogether) {
  Network net = build_zoo_model("densenet121_cifar");
  Arch arch{"densenet121_cifar", 0, 0, 1.0, {}, {}};
  apply_to_layers(net, arch, "features.conv0, features.denseblock1.*.conv2: bottleneck(2)");
  const Concat& last =
      std::get<Concat>(net.nodes[net.find("features.denseblock1.denselayer6.cat")].op);
  EXPECT_EQ(last.channels, (std::vector<int64_t>{32 + 5 * 16, 16}));
  EXPECT_EQ(std::get<ConvProgram>(net.nodes[net.find("features.transition1.conv")].op).in_channels,
            128);
}

TEST(TransformNetwork, DenseNetInnerWidthIsFreeItsGrowthIsNot) {
  Network net = build_zoo_model("densenet121_cifar");
  transform_layer(net, "features.denseblock2.denselayer3.conv1", parse_sequence("bottleneck(2)"),
                  0);
  EXPECT_EQ(std::get<ConvProgram>(net.nodes[net.find("features.denseblock2.denselayer3.conv2")].op)
                .in_channels,
            64);
  EXPECT_THROW(transform_layer(net, "features.denseblock2.denselayer3.conv2",
                               parse_sequence("bottleneck(2)"), 0),
               UserError);
}

TEST(TransformNetwork, RejectionsNameLayerTransformationAndPrecondition) {
  Network net = build_zoo_model("resnet18_cifar");
  auto expect = [&](const std::string& layer, const std::string& seq, const std::string& fragment) {
    try {
      transform_layer(net, layer, parse_sequence(seq), 0);
      ADD_FAILURE() << layer << ": " << seq;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect("layer1.0.conv1", "group(3)", "layer layer1.0.conv1: group(3) rejected (not divisible)");
  expect("layer9.0.conv1", "group(2)", "no layer 'layer9.0.conv1'");
  expect("layer1.0.bn1", "group(2)", "is a batch_norm");
  EXPECT_THROW(match_conv_layers(net, "nothing.*"), UserError);
  EXPECT_EQ(match_conv_layers(net, "layer3.*.conv1").size(), 2u);
}

TEST(Arch, RoundTripsAndReplays) {
  Network net = build_zoo_model("resnet18_cifar", {5});
  Arch arch{"resnet18_cifar", 5, 0, 1.0, {}, {}};
  apply_to_layers(net, arch, "layer3.*.conv1: split(2); group([1,4])");
  apply_to_layers(net, arch, "layer4.0.conv2: spatial_split(2)");
  std::string path = (std::filesystem::temp_directory_path() / "nasx-arch-test.json").string();
  arch.write(path);
  Arch back = Arch::read(path);
  EXPECT_EQ(back.to_json(), arch.to_json());
  Network rebuilt = back.build();
  EXPECT_EQ(rebuilt.params(), net.params());
  int k = net.find("layer3.1.conv1");
  EXPECT_EQ(rebuilt.nodes[k].op, net.nodes[k].op);
  EXPECT_EQ(rebuilt.nodes[k].params[1].data, net.nodes[k].params[1].data)
      << "same seed, same weights";
}

TEST(Arch, MalformedFilesAreClearErrors) {
  auto expect = [](const std::string& text, const std::string& fragment) {
    std::string path = (std::filesystem::temp_directory_path() / "nasx-bad-arch.json").string();
    std::ofstream(path) << text;
    try {
      Arch::read(path).build();
      ADD_FAILURE() << text;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect("{", "not valid JSON");
  expect("[]", "not a JSON object");
  expect(R"j({"format": "other"})j", "\"format\" must be \"nasx-arch\"");
  expect(R"j({"format": "nasx-arch", "version": 1, "base": "resnet99", "steps": []})j",
         "not a zoo model");
  expect(R"j({"format": "nasx-arch", "version": 1, "base": "resnet18_cifar"})j", "malformed");
  expect(R"j({"format": "nasx-arch", "version": 1, "base": "resnet18_cifar",
             "steps": [{"layers": ["layer1.0.conv1"], "sequence": "grop(2)"}]})j",
         "unknown transformation 'grop'");
  // Every field type- and range-checked, its key named; nothing wraps around.
  const std::string head = R"j({"format": "nasx-arch", "version": 1, "base": "resnet18_cifar", )j";
  expect(head + R"j("seed": -1, "steps": []})j", "\"seed\" must be in [0, ");
  expect(head + R"j("seed": 1.5, "steps": []})j", "\"seed\" must be an integer, got 1.5");
  expect(head + R"j("seed": 18446744073709551615, "steps": []})j", "\"seed\" must be an integer");
  expect(head + R"j("image_size": -4, "steps": []})j", "\"image_size\" must be in [0, 4096]");
  expect(head + R"j("image_size": "big", "steps": []})j", "\"image_size\" must be an integer");
  expect(head + R"j("steps": {}})j", "\"steps\" must be a list");
  expect(head + R"j("steps": [{"layers": "layer1.0.conv1", "sequence": "group(2)"}]})j",
         "\"layers\" of step 0 must be a list of strings");
  expect(head + R"j("steps": [{"layers": ["layer1.0.conv1"], "sequence": 2}]})j",
         "\"sequence\" of step 0 must be a string, got 2");
  expect(head + R"j("applied": [1], "steps": []})j", "\"applied\" must hold strings, got 1");
  // Before: a step with no layers was accepted and changed nothing.
  expect(head + R"j("steps": [{"layers": [], "sequence": "group(2)"}]})j",
         "\"layers\" of step 0 is empty");
  // A number too large for a double (found by make fuzz; was an internal error, exit 3).
  expect(head + R"j("seed": 1E99999, "steps": []})j", "not valid JSON");
  expect(head + R"j("width": 0, "steps": []})j", "\"width\" must be in (0, 16]");
  expect(head + R"j("width": "wide", "steps": []})j", "\"width\" must be a number");
  expect(R"j({"format": "nasx-arch", "version": "1", "base": "resnet18_cifar", "steps": []})j",
         "\"version\" must be an integer");
}

}  // namespace
}  // namespace nasx
