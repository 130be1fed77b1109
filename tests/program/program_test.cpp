// ConvProgram and operator definitions: params and MACs from the program, shape inference, and
// every user-facing precondition rejected with a message naming it.
#include <gtest/gtest.h>

#include "ir/printer.h"
#include "lower/pipeline.h"
#include "program/ops.h"
#include "support/error.h"

namespace nasx {
namespace {

TEST(ConvProgram, ResNetConvParamsAndMacs) {
  ConvProgram p = ConvProgram::make({64, 56, 56, 64, 3, 1, 1, 1, 1, false});
  EXPECT_EQ(p.out_h, 56);
  EXPECT_EQ(p.out_w, 56);
  EXPECT_EQ(p.params(), 64 * 64 * 9);
  EXPECT_EQ(p.macs(1), int64_t(64) * 56 * 56 * 64 * 9);
  EXPECT_EQ(p.macs(4), 4 * p.macs(1));
}

TEST(ConvProgram, GroupsDivideWeights) {
  ConvProgram dense = ConvProgram::make({128, 16, 16, 128, 3, 1, 1, 1, 1, false});
  ConvProgram grouped = ConvProgram::make({128, 16, 16, 128, 3, 1, 1, 1, 4, false});
  ConvProgram depthwise = ConvProgram::make({128, 16, 16, 128, 3, 1, 1, 1, 128, false});
  EXPECT_EQ(grouped.params() * 4, dense.params());
  EXPECT_EQ(grouped.macs() * 4, dense.macs());
  EXPECT_EQ(depthwise.params(), 128 * 9);
}

TEST(ConvProgram, StrideDilationPaddingOutputSize) {
  ConvProgram p = ConvProgram::make({3, 224, 224, 64, 7, 2, 3, 1, 1, false});
  EXPECT_EQ(p.out_h, 112);
  ConvProgram d = ConvProgram::make({8, 17, 13, 8, 3, 1, 0, 2, 1, true});
  EXPECT_EQ(d.out_h, 13);
  EXPECT_EQ(d.out_w, 9);
  EXPECT_EQ(d.params(), 8 * 8 * 9 + 8);
}

TEST(ConvProgram, PrintsStatementsAsFormulas) {
  ConvProgram p = ConvProgram::make({8, 8, 8, 8, 3, 1, 1, 1, 2, false});
  std::string s = p.to_string();
  EXPECT_NE(s.find("I[n, (((co / 4) * 4) + ci), ((y + ky) - 1), ((x + kx) - 1)]"),
            std::string::npos)
      << s;
}

void expect_user_error(const ConvSpec& spec, const std::string& fragment) {
  try {
    ConvProgram::make(spec);
    FAIL() << "accepted; expected an error mentioning '" << fragment << "'";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ConvProgram, RejectsImpossibleParameters) {
  expect_user_error({8, 8, 8, 8, 3, 1, 0, 1, 3, false}, "groups (3) must divide the input");
  expect_user_error({8, 8, 8, 6, 3, 1, 0, 1, 4, false}, "must divide the output channels");
  expect_user_error({8, 4, 4, 8, 7, 1, 1, 1, 1, false}, "larger than the padded input");
  expect_user_error({8, 8, 8, 8, 3, 1, 1, 5, 1, false}, "larger than the padded input");
  expect_user_error({0, 8, 8, 8, 3, 1, 0, 1, 1, false}, "input shape must be positive");
  expect_user_error({8, 8, -1, 8, 3, 1, 0, 1, 1, false}, "input shape must be positive");
  expect_user_error({8, 8, 8, 0, 3, 1, 0, 1, 1, false}, "output channels must be positive");
  expect_user_error({8, 8, 8, 8, 0, 1, 0, 1, 1, false}, "kernel must be positive");
  expect_user_error({8, 8, 8, 8, 3, 0, 0, 1, 1, false}, "stride must be positive");
  expect_user_error({8, 8, 8, 8, 3, 1, -1, 1, 1, false}, "padding must be non-negative");
}

TEST(Ops, ShapeInference) {
  EXPECT_EQ(infer_shape(MaxPool{3, 2, 1}, {{1, 64, 112, 112}}), (Shape{1, 64, 56, 56}));
  EXPECT_EQ(infer_shape(AvgPool{2, 2, 0}, {{2, 8, 7, 7}}), (Shape{2, 8, 3, 3}));
  EXPECT_EQ(infer_shape(GlobalAvgPool{}, {{2, 512, 4, 4}}), (Shape{2, 512, 1, 1}));
  EXPECT_EQ(infer_shape(Flatten{}, {{2, 512, 1, 1}}), (Shape{2, 512}));
  EXPECT_EQ(infer_shape(Linear{512, 10}, {{2, 512}}), (Shape{2, 10}));
  EXPECT_EQ(infer_shape(Concat{{3, 5}}, {{1, 3, 4, 4}, {1, 5, 4, 4}}), (Shape{1, 8, 4, 4}));
  EXPECT_EQ(param_count(Linear{512, 10}), 5130);
  EXPECT_EQ(param_count(BatchNorm{64}), 128);  // running stats are buffers, not parameters
  EXPECT_EQ(op_macs(Linear{512, 10}, {{2, 512}}), 2 * 5120);
}

TEST(Ops, RejectsWrongShapes) {
  EXPECT_THROW(infer_shape(ResidualAdd{}, {{1, 2, 3, 3}, {1, 2, 3, 4}}), UserError);
  EXPECT_THROW(infer_shape(BatchNorm{8}, {{1, 4, 3, 3}}), UserError);
  EXPECT_THROW(infer_shape(Linear{10, 2}, {{1, 11}}), UserError);
  EXPECT_THROW(infer_shape(Concat{{3, 5}}, {{1, 3, 4, 4}, {1, 5, 4, 5}}), UserError);
  EXPECT_THROW(infer_shape(MaxPool{5, 1, 0}, {{1, 1, 3, 3}}), UserError);
  EXPECT_THROW(infer_shape(Relu{}, {{1, 2}, {1, 2}}), UserError);
  ConvProgram p = ConvProgram::make({8, 8, 8, 8, 3, 1, 1, 1, 1, false});
  EXPECT_THROW(infer_shape(p, {{1, 4, 8, 8}}), UserError);
}

TEST(Lowering, DirectConvHasParallelOuterAndVectorizedInnerLoops) {
  // Depthwise: one output channel per group, so the direct schedule is used.
  ConvProgram p = ConvProgram::make({4, 6, 6, 4, 3, 1, 1, 1, 4, false});
  LoweredKernel k = lower(p, {p.input_shape(1)}, "k");
  std::string ir = ir::to_string(k.body);
  EXPECT_EQ(ir.rfind("parallel n_co in [0, +4)", 0), 0u) << ir;
  // kx unrolled: each copy's valid x range is a constant (kx = 0 skips x = 0, kx = 2 skips x = 5).
  EXPECT_NE(ir.find("vectorized x in [1, +5)"), std::string::npos) << ir;
  EXPECT_NE(ir.find("vectorized x in [0, +5)"), std::string::npos) << ir;
  EXPECT_EQ(ir.find("x_lo"), std::string::npos) << ir;
  ASSERT_EQ(k.args.size(), 3u);
  EXPECT_EQ(k.args[0]->name, "in0");
  EXPECT_EQ(k.args[1]->name, "weight");
  EXPECT_EQ(k.args[2]->name, "out");
}

TEST(Lowering, GemmConvBuildsAPanelAndRegisterTiles) {
  ConvProgram p = ConvProgram::make({16, 8, 8, 32, 3, 1, 1, 1, 1, true});
  LoweredKernel k = lower(FusedConv{p, false, true}, {p.input_shape(1)}, "k");
  std::string ir = ir::to_string(k.body);
  EXPECT_EQ(ir.rfind("parallel task in [0, +8)", 0), 0u) << ir;  // 2 blocks x 4 tile chunks
  EXPECT_NE(ir.find("allocate col[144, 32]"), std::string::npos) << ir;
  EXPECT_NE(ir.find("allocate acc[8, 32]"), std::string::npos) << ir;
  EXPECT_NE(ir.find("for k in [0, +144)"), std::string::npos) << ir;
  EXPECT_NE(ir.find("max("), std::string::npos) << "ReLU epilogue\n" << ir;
}

}  // namespace
}  // namespace nasx
