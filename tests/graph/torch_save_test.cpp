// The torch.save reader without LibTorch (graph/torch_save): the fixtures in tests/fuzz/corpus/pt
// were written by Debian's python3-torch 1.13 (views, shared storages, every floating dtype, a
// whole pickled module); damaged copies of them must be UserErrors, never a crash.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "graph/torch_save.h"
#include "support/error.h"

namespace nasx {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(NASX_TEST_SOURCE_DIR) + "/fuzz/corpus/pt/" + name, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::string user_error_of(const std::string& bytes) {
  try {
    parse_torch_state_dict(bytes, "x.pt");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(TorchSave, ViewsSharedStoragesAndDtypesReadAsTorchWroteThem) {
  // sd["t"] = arange(6).reshape(2, 3).t(); sd["same"] = the same storage's row 1;
  // float16 [1.5, -2, 6e-5 (a subnormal)], bfloat16 [0.25], float64 [[3]].
  auto tensors = parse_torch_state_dict(fixture("views-dtypes.pt"), "views-dtypes.pt");
  std::map<std::string, Tensor> by;
  std::vector<std::string> order;
  for (auto& [k, t] : tensors) {
    order.push_back(k);
    by[k] = t;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"t", "same", "h", "b", "d"}));
  EXPECT_EQ(by["t"].shape, (Shape{3, 2}));
  EXPECT_EQ(by["t"].data, (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(by["same"].data, (std::vector<float>{3, 4, 5}));
  ASSERT_EQ(by["h"].data.size(), 3u);
  EXPECT_EQ(by["h"].data[0], 1.5f);
  EXPECT_EQ(by["h"].data[1], -2.0f);
  EXPECT_NEAR(by["h"].data[2], 6.0e-5f, 1e-7f);  // the nearest float16, a subnormal
  EXPECT_EQ(by["b"].data, (std::vector<float>{0.25f}));
  EXPECT_EQ(by["d"].shape, (Shape{1, 1}));
  EXPECT_EQ(by["d"].data, (std::vector<float>{3.0f}));
}

TEST(TorchSave, AConvAndItsBatchNormLeaveOutTheCounter) {
  auto tensors = parse_torch_state_dict(fixture("conv-bn.pt"), "conv-bn.pt");
  std::vector<std::string> keys;
  for (auto& [k, t] : tensors) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias",
                                            "1.running_mean", "1.running_var"}));
  EXPECT_EQ(tensors[0].second.shape, (Shape{2, 2, 1, 1}));
}

TEST(TorchSave, DamagedFilesAreUserErrors) {
  EXPECT_NE(
      user_error_of(fixture("whole-module.pt")).find("save model.state_dict(), not the model"),
      std::string::npos);
  EXPECT_NE(user_error_of("").find("it is empty"), std::string::npos);
  EXPECT_NE(user_error_of("\x80\x02junk").find("legacy format"), std::string::npos);
  std::string good = fixture("views-dtypes.pt");
  // Every truncation, and every single byte changed, is a result or a UserError (the sanitizer
  // build would report anything worse).
  for (size_t n = 0; n < good.size(); n += 7) {
    std::string cut = good.substr(0, n);
    EXPECT_NE(user_error_of(cut), "") << "truncated to " << n << " bytes";
  }
  for (size_t at = 0; at < good.size(); at += 3) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    try {
      parse_torch_state_dict(bad, "x.pt");
    } catch (const UserError&) {
    }
  }
}

}  // namespace
}  // namespace nasx
