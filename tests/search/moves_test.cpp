// src/search/moves and explore below the driver: roles from layer names, coarse moves over the
// search space (network-wide and stage-wide, each one verdict), and the canonical order of an
// assignment's steps.
#include <gtest/gtest.h>

#include <set>

#include "graph/transform_network.h"
#include "graph/zoo.h"
#include "search/explore.h"
#include "search/moves.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

TEST(Moves, RolesComeFromLayerNames) {
  EXPECT_EQ(network_role("layer2.0.conv1"), "layer*.*.conv1");
  EXPECT_EQ(stage_role("layer2.0.conv1"), "layer2.*.conv1");
  EXPECT_EQ(network_role("layer3.0.downsample.0"), "layer*.*.downsample.0");
  EXPECT_EQ(network_role("features.denseblock2.denselayer11.conv1"),
            "features.denseblock*.denselayer*.conv1");
  EXPECT_EQ(stage_role("features.denseblock2.denselayer11.conv1"),
            "features.denseblock2.denselayer*.conv1");
  EXPECT_EQ(network_role("conv1"), "");  // the stem: no numbered part, no role
  EXPECT_EQ(stage_role("features.transition1.conv"), "");
}

TEST(Moves, NetworkAndStageWideMovesAreAmongTheCandidates) {
  Network net = build_zoo_model("resnet18_cifar");
  SpaceCounts counts;
  std::vector<SearchUnit> units =
      build_search_space(net, match_conv_layers(net, "*"), 3, 0, counts);
  std::vector<Move> network = coarse_moves(units, MoveLevel::Network);
  std::vector<Move> stage = coarse_moves(units, MoveLevel::Stage);
  std::set<std::string> names;
  for (const Move& m : network) names.insert(m.name);
  for (const Move& m : stage) names.insert(m.name);
  for (const char* want : {"every layer*.*.conv1: group(4)", "every layer*.*.conv2: group(8)",
                           "every layer*.*.conv1: bottleneck(2)",
                           "every coupled class: bottleneck(2)", "every convolution: group(2)",
                           "every layer3.*.conv1: depthwise", "every layer2.*.conv2: group(4)"})
    EXPECT_TRUE(names.count(want)) << want;
  // Coupled conv2s take no lone bottleneck, so no such move exists.
  EXPECT_FALSE(names.count("every layer*.*.conv2: bottleneck(2)"));
  for (const Move& m : network) {
    EXPECT_GE(m.parts.size(), 2u) << m.name;
    std::set<size_t> seen;
    for (const MovePart& p : m.parts) {
      EXPECT_EQ(p.candidate->text, m.sequence) << m.name;
      EXPECT_TRUE(seen.insert(p.unit).second) << m.name;
    }
  }
  // Every block's conv1 (8 of them) in one move, and each applies to the network as a whole.
  for (const Move& m : network)
    if (m.name == "every layer*.*.conv1: group(4)") {
      EXPECT_EQ(m.parts.size(), 8u);
      Assignment a;
      for (const MovePart& p : m.parts) a[p.unit] = p.candidate;
      Network copy = net;
      for (const ArchStep& s : assignment_steps(units, a))
        EXPECT_NO_THROW(transform_layers(copy, s.layers, parse_sequence(s.sequence), 0));
    }
}

TEST(Moves, AssignmentStepsPutChannelChangesFirst) {
  Network net = build_zoo_model("resnet18_cifar");
  SpaceCounts counts;
  std::vector<SearchUnit> units =
      build_search_space(net, {"layer2.0.conv1", "layer2.0.conv2", "layer2.1.conv1"}, 2, 0, counts);
  auto find = [&](const std::string& unit, const std::string& text) {
    for (size_t u = 0; u < units.size(); ++u)
      if (units[u].name == unit)
        for (const Candidate& c : units[u].candidates)
          if (c.text == text) return std::pair<size_t, const Candidate*>{u, &c};
    ADD_FAILURE() << unit << " " << text;
    return std::pair<size_t, const Candidate*>{0, nullptr};
  };
  Assignment a;
  for (auto [u, c] : {find("layer2.0.conv2", "group(4)"), find("layer2.0.conv1", "bottleneck(2)"),
                      find("layer2.1.conv1", "group(2)")})
    a[u] = c;
  std::vector<ArchStep> steps = assignment_steps(units, a);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].sequence, "bottleneck(2)");  // the consumer (conv2) is still plain then
  Network copy = net;
  for (const ArchStep& s : steps)
    EXPECT_NO_THROW(transform_layers(copy, s.layers, parse_sequence(s.sequence), 0)) << s.sequence;
}

}  // namespace
}  // namespace nasx
