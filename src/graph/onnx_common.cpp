#include "graph/onnx_common.h"

#include "support/error.h"

namespace nasx {
namespace {

constexpr const char* kStatementFields[] = {"co_begin", "co_end",       "y_begin",   "y_end",
                                            "ci_base",  "ci_per_group", "groups",    "row_begin",
                                            "row_end",  "row_offset",   "col_offset"};

int64_t* statement_field(ConvStatement& s, int i) {
  int64_t* fields[] = {&s.co_begin, &s.co_end,       &s.y_begin,   &s.y_end,
                       &s.ci_base,  &s.ci_per_group, &s.groups,    &s.row_begin,
                       &s.row_end,  &s.row_offset,   &s.col_offset};
  return fields[i];
}

}  // namespace

Json conv_program_json(const ConvProgram& p) {
  Json statements = Json::array();
  for (ConvStatement s : p.statements) {
    Json js = Json::object();
    for (int i = 0; i < 11; ++i) js[kStatementFields[i]] = *statement_field(s, i);
    statements.push_back(js);
  }
  return {{"in_channels", p.in_channels},
          {"in_h", p.in_h},
          {"in_w", p.in_w},
          {"out_channels", p.out_channels},
          {"out_h", p.out_h},
          {"out_w", p.out_w},
          {"kernel", p.kernel},
          {"stride", p.stride},
          {"dilation", p.dilation},
          {"bias", p.bias},
          {"statements", statements}};
}

ConvProgram conv_program_from_json(const Json& j, const std::string& where) {
  // Every number is range-checked here, so that verify() below only meets programs whose
  // arithmetic cannot overflow; its InternalError then means an inconsistent file, not a bug.
  constexpr int64_t kLimit = int64_t(1) << 20;
  auto integer = [&](const Json& o, const char* key, int64_t lo) {
    NASX_USER_CHECK(o.is_object() && o.contains(key) && o[key].is_number_integer(), where, ": \"",
                    key, "\" must be an integer");
    int64_t v = o[key].get<int64_t>();
    NASX_USER_CHECK(v >= lo && v <= kLimit, where, ": \"", key, "\" is ", v, ", out of range");
    return v;
  };
  ConvProgram p;
  p.in_channels = integer(j, "in_channels", 1);
  p.in_h = integer(j, "in_h", 1);
  p.in_w = integer(j, "in_w", 1);
  p.out_channels = integer(j, "out_channels", 1);
  p.out_h = integer(j, "out_h", 1);
  p.out_w = integer(j, "out_w", 1);
  p.kernel = integer(j, "kernel", 1);
  p.stride = integer(j, "stride", 1);
  p.dilation = integer(j, "dilation", 1);
  NASX_USER_CHECK(j.contains("bias") && j["bias"].is_boolean(), where,
                  ": \"bias\" must be true or false");
  p.bias = j["bias"].get<bool>();
  NASX_USER_CHECK(j.contains("statements") && j["statements"].is_array() &&
                      !j["statements"].empty() && j["statements"].size() <= 256,
                  where, ": \"statements\" must be a list of 1 to 256 statements");
  // The tensor sizes ConvProgram::make allows (2^31 elements), and a bound on verify()'s work
  // (statements x output rows x channels <= 2^28).
  constexpr int64_t kMaxElements = int64_t(1) << 31;
  NASX_USER_CHECK(p.in_channels * p.in_h * p.in_w <= kMaxElements &&
                      p.out_channels * p.out_h * p.out_w <= kMaxElements &&
                      p.out_channels * p.in_channels * p.kernel * p.kernel <= kMaxElements &&
                      p.out_channels * p.out_h <= kLimit,
                  where, ": the convolution is too large");
  for (const Json& js : j["statements"]) {
    ConvStatement s;
    for (int i = 0; i < 11; ++i) *statement_field(s, i) = integer(js, kStatementFields[i], -kLimit);
    p.statements.push_back(s);
  }
  try {
    p.verify();
  } catch (const InternalError& e) {
    user_error(where, ": not a valid convolution program (", e.what(), ")");
  }
  return p;
}

}  // namespace nasx
