// Neural transformations: golden before/after tables (structural equality of programs), a table
// of must-reject cases (one per precondition), parameters and MACs from the program, and the
// printer/parser round trip.
#include <gtest/gtest.h>

#include "support/error.h"
#include "transform/sequence.h"

namespace nasx {
namespace {

ConvProgram conv(int64_t ci, int64_t hw, int64_t co, int64_t k = 3, int64_t stride = 1) {
  return ConvProgram::make({ci, hw, hw, co, k, stride, k / 2, 1, 1, false});
}

ConvProgram run(const std::string& seq, const ConvProgram& p) {
  Expected<ConvProgram> r = apply_sequence(parse_sequence(seq), p);
  if (!r.ok()) ADD_FAILURE() << r.rejection().to_string();
  return r.ok() ? r.value() : p;
}

TEST(Neural, GroupDividesInputChannelsPerGroup) {
  ConvProgram p = run("group(4)", conv(64, 8, 128));
  ASSERT_EQ(p.statements.size(), 1u);
  EXPECT_EQ(p.statements[0].groups, 4);
  EXPECT_EQ(p.statements[0].ci_per_group, 16);
  EXPECT_EQ(p, ConvProgram::make({64, 8, 8, 128, 3, 1, 1, 1, 4, false}));  // = a grouped conv
  EXPECT_EQ(p.params() * 4, conv(64, 8, 128).params());
  EXPECT_EQ(p.macs() * 4, conv(64, 8, 128).macs());
}

TEST(Neural, DepthwiseIsGroupOfAllInputChannels) {
  EXPECT_EQ(run("depthwise", conv(32, 8, 64)),
            ConvProgram::make({32, 8, 8, 64, 3, 1, 1, 1, 32, false}));
  EXPECT_EQ(run("group(2); depthwise", conv(32, 8, 32)),
            ConvProgram::make({32, 8, 8, 32, 3, 1, 1, 1, 32, false}));
}

TEST(Neural, BottleneckShrinksOutputChannels) {
  ConvProgram p = run("bottleneck(2)", conv(64, 8, 128));
  EXPECT_EQ(p, conv(64, 8, 64));
  EXPECT_EQ(run("bottleneck(2); group(4)", conv(64, 8, 128)),
            ConvProgram::make({64, 8, 8, 64, 3, 1, 1, 1, 4, false}));
}

TEST(Neural, SplitThenGroupEachPart) {  // the paper's Seq1
  ConvProgram p = run("split(4); group([1,2,4,8])", conv(64, 8, 64));
  ASSERT_EQ(p.statements.size(), 4u);
  int64_t params = 0;
  for (int j = 0; j < 4; ++j) {
    const ConvStatement& s = p.statements[j];
    EXPECT_EQ(s.co_begin, 16 * j);
    EXPECT_EQ(s.co_end, 16 * j + 16);
    EXPECT_EQ(s.ci_base, 0);
    EXPECT_EQ(s.groups, int64_t(1) << j);
    EXPECT_EQ(s.ci_per_group, 64 >> j);
    params += 16 * (64 >> j) * 9;
  }
  EXPECT_EQ(p.params(), params);
}

TEST(Neural, PeelThenGroupTheRemainder) {  // the paper's Seq2
  ConvProgram p = run("peel(8); group(4)", conv(64, 8, 64));
  ASSERT_EQ(p.statements.size(), 2u);
  const ConvStatement &a = p.statements[0], &b = p.statements[1];
  EXPECT_EQ(a.co_begin, 0);
  EXPECT_EQ(a.co_end, 8);
  EXPECT_EQ(a.ci_per_group, 64);
  EXPECT_EQ(a.groups, 1);
  EXPECT_EQ(b.co_begin, 8);
  EXPECT_EQ(b.co_end, 64);
  EXPECT_EQ(b.ci_base, 8);
  EXPECT_EQ(b.groups, 4);
  EXPECT_EQ(b.ci_per_group, 14);
  EXPECT_EQ(p.params(), (8 * 64 + 56 * 14) * 9);
}

TEST(Neural, SpatialSplitGivesEachTileItsWindow) {  // the paper's Seq3
  ConvProgram p = run("spatial_split(2)", conv(16, 16, 16, 3, 2));
  ASSERT_EQ(p.statements.size(), 2u);
  EXPECT_EQ(p.statements[0].y_begin, 0);
  EXPECT_EQ(p.statements[0].y_end, 4);
  EXPECT_EQ(p.statements[0].row_begin, 0);
  EXPECT_EQ(p.statements[0].row_end, 8);
  EXPECT_EQ(p.statements[1].y_begin, 4);
  EXPECT_EQ(p.statements[1].y_end, 8);
  EXPECT_EQ(p.statements[1].row_begin, 8);
  EXPECT_EQ(p.statements[1].row_end, 16);
  EXPECT_EQ(p.params(), 2 * conv(16, 16, 16).params());  // untied weights
  EXPECT_EQ(p.macs(), conv(16, 16, 16, 3, 2).macs());
}

struct MustReject {
  std::string sequence;
  ConvProgram program;
  RejectKind kind;
  std::string fragment;
};

TEST(Neural, MustRejectTable) {
  std::vector<MustReject> table = {
      {"group(3)", conv(64, 8, 64), RejectKind::NotDivisible, "3 groups do not divide"},
      {"group(0)", conv(64, 8, 64), RejectKind::OutOfRange, "at least 1"},
      {"group(4); group(32)", conv(64, 8, 64), RejectKind::NotDivisible, "do not divide"},
      {"depthwise", conv(64, 8, 32), RejectKind::NotDivisible, "not a multiple"},
      {"bottleneck(3)", conv(64, 8, 64), RejectKind::NotDivisible, "does not divide the 64"},
      {"bottleneck(0)", conv(64, 8, 64), RejectKind::OutOfRange, "at least 1"},
      {"split(3)", conv(64, 8, 64), RejectKind::NotDivisible, "does not divide"},
      {"split(2); group([1,2,4])", conv(64, 8, 64), RejectKind::ArityMismatch, "3 group counts"},
      {"group(4); split(6)", conv(64, 8, 48), RejectKind::NotDivisible, "would cut"},
      {"peel(64)", conv(64, 8, 64), RejectKind::OutOfRange, "u = 64"},
      {"peel(0)", conv(64, 8, 64), RejectKind::OutOfRange, "u = 0"},
      {"group(2); peel(4)", conv(64, 8, 64), RejectKind::Unsupported, "grouped"},
      {"split(2); peel(4)", conv(64, 8, 64), RejectKind::Unsupported, "one statement"},
      {"spatial_split(3)", conv(16, 8, 16), RejectKind::NotDivisible, "does not divide"},
      {"spatial_split(0)", conv(16, 8, 16), RejectKind::OutOfRange, "at least 1"},
  };
  for (const MustReject& m : table) {
    Expected<ConvProgram> r = apply_sequence(parse_sequence(m.sequence), m.program);
    ASSERT_FALSE(r.ok()) << m.sequence << " was accepted";
    EXPECT_EQ(r.rejection().kind, m.kind) << r.rejection().to_string();
    EXPECT_NE(r.rejection().to_string().find(m.fragment), std::string::npos)
        << r.rejection().to_string();
  }
}

TEST(Sequence, PrintsAndParsesRoundTrip) {
  for (const char* text : {"split(4); group([1,2,4,8])", "peel(8); group(4)", "spatial_split(2)",
                           "bottleneck(2); group(4)", "depthwise", "group(2); depthwise"}) {
    NeuralSequence seq = parse_sequence(text);
    EXPECT_EQ(print_sequence(seq), text);
    EXPECT_EQ(parse_sequence(print_sequence(seq)), seq);
  }
  EXPECT_EQ(print_sequence(parse_sequence("  split ( 2 ) ;group([ 1 , 2 ]);  ")),
            "split(2); group([1,2])");
}

TEST(Sequence, ParseErrorsNameTheProblem) {
  auto expect = [](const std::string& text, const std::string& fragment) {
    try {
      parse_sequence(text);
      ADD_FAILURE() << text << " parsed";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect("grop(4)", "unknown transformation 'grop'");
  expect("group(4", "expected ')'");
  expect("group()", "expected an integer");
  expect("split([1,2])", "takes one integer");
  expect("depthwise(2)", "takes no argument");
  expect("", "sequence is empty");
  expect("group(4) group(2)", "expected ';'");
}

}  // namespace
}  // namespace nasx
