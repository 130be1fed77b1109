// The one tokenizer of the little languages: fields kept as they are, strict integers.
#include <gtest/gtest.h>

#include "support/text.h"

namespace nasx {
namespace {

using Fields = std::vector<std::string>;

TEST(Text, SplitKeepsEveryFieldTrimRemovesBlanks) {
  EXPECT_EQ(split("a,,b,", ','), (Fields{"a", "", "b", ""}));
  EXPECT_EQ(split("", ','), (Fields{""}));
  EXPECT_EQ(split(" x ; y", ';'), (Fields{" x ", " y"}));
  EXPECT_EQ(trim(" \t y#1 \t"), "y#1");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(split_words("  ccache  g++\t-O3 \n"), (Fields{"ccache", "g++", "-O3"}));
  EXPECT_TRUE(split_words(" \t").empty());
}

TEST(Text, ParseIntIsTheWholeStringOrNothing) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-7"), -7);
  EXPECT_EQ(parse_int("9223372036854775807"), INT64_MAX);
  for (const char* bad :
       {"", "-", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "12a", "9223372036854775808", "--1"})
    EXPECT_FALSE(parse_int(bad).has_value()) << bad;
}

}  // namespace
}  // namespace nasx
