// The typed reader of user-editable JSON files (support/json_in): fallbacks for missing keys,
// NaN for null numbers, and a UserError naming the file and the key's path for a wrong type.
#include <gtest/gtest.h>

#include <cmath>

#include "support/error.h"
#include "support/json_in.h"

namespace nasx {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonIn, FieldsTheirFallbacksAndNull) {
  Json j = Json::parse(R"({"a": 1, "b": 2.5, "s": "x", "t": true, "n": null,
                          "l": ["p", "q"], "o": {"k": 3}})");
  JsonIn in(j, "f.json");
  EXPECT_EQ(in.integer("a"), 1);
  EXPECT_EQ(in.real("b"), 2.5);
  EXPECT_EQ(in.real("a"), 1.0);
  EXPECT_EQ(in.str("s"), "x");
  EXPECT_TRUE(in.boolean("t"));
  EXPECT_TRUE(std::isnan(in.real("n")));  // nasx writes non-finite numbers as null
  EXPECT_EQ(in.strings("l"), (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(in.field("o").integer("k"), 3);
  EXPECT_EQ(in.integer("missing", 7), 7);
  EXPECT_EQ(in.str("missing", "d"), "d");
  EXPECT_TRUE(in.list("missing").empty());
  EXPECT_EQ(in.field("missing").integer("deeper", 4), 4);  // a missing object's fields
  EXPECT_EQ(in.object("missing"), Json::object());
}

TEST(JsonIn, AWrongTypeNamesFileAndPath) {
  Json j = Json::parse(R"({"speedup": "fast", "trials": [{"timing": {"baseline":
                          {"median_ms": [1]}}}], "n": 1.5, "o": 3})");
  JsonIn in(j, "DIR/report.json");
  EXPECT_EQ(error_of([&] { in.real("speedup"); }),
            "DIR/report.json: \"speedup\" must be a number, got \"fast\"");
  EXPECT_EQ(
      error_of([&] { in.list("trials")[0].field("timing").field("baseline").real("median_ms"); }),
      "DIR/report.json: \"trials[0].timing.baseline.median_ms\" must be a number, got [1]");
  EXPECT_NE(error_of([&] { in.integer("n"); }).find("\"n\" must be an integer, got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { in.field("o").integer("k"); }).find("\"o\" must be an object, got 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] { in.require("absent"); }).find("missing \"absent\""), std::string::npos);
  EXPECT_NE(error_of([&] { in.strings("speedup"); }).find("\"speedup\" must be a list"),
            std::string::npos);
}

// ARCH.json reads through JsonIn too (graph/arch.cpp): ranges, lists of strings, and a list's
// elements named as a user counts them.
TEST(JsonIn, RangesStringListsAndNamedElements) {
  Json j = Json::parse(R"({"seed": -1, "applied": ["a", 1], "steps": [{"layers": "x"}]})");
  JsonIn in(j, "a.json");
  EXPECT_EQ(error_of([&] { in.integer_in("seed", 0, 0, 9); }),
            "a.json: \"seed\" must be in [0, 9], got -1");
  EXPECT_EQ(in.integer_in("missing", 5, 0, 9), 5);
  EXPECT_EQ(error_of([&] { in.strings("applied"); }),
            "a.json: \"applied\" must hold strings, got 1");
  JsonIn step = in.list("steps")[0].named("step 0");
  EXPECT_EQ(error_of([&] { step.strings("layers"); }),
            "a.json: \"layers\" of step 0 must be a list of strings, got \"x\"");
  EXPECT_EQ(error_of([&] { step.require("sequence"); }), "a.json: missing \"sequence\" of step 0");
  EXPECT_EQ(error_of([&] { step.field("layers").field("k"); }),
            "a.json: \"layers\" of step 0 must be an object, got \"x\"");
  Json three = 3;
  EXPECT_EQ(error_of([&] { JsonIn(three, "a.json").named("step 3").fail("an object"); }),
            "a.json: step 3 must be an object, got 3");
}

}  // namespace
}  // namespace nasx
