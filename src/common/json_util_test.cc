#include "common/json_util.h"

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(JsonUtilTest, LimitsDepthAndSize) {
  EXPECT_TRUE(ParseJson("[[[1]]]", "doc").ok());
  auto deep = ParseJson(std::string(5000, '[') + std::string(5000, ']'), "doc");
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper"), std::string::npos);
  JsonLimits tiny;
  tiny.max_bytes = 4;
  EXPECT_EQ(ParseJson("[1,2,3]", "doc", tiny).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(ParseJson("{\"a\":", "doc").ok());
}

TEST(JsonUtilTest, TypedAccessNamesThePath) {
  auto j = ParseJson(R"({"a": {"b": [1, 2, "x"], "n": -0.5, "i": 3.0, "s": "t"}})", "doc");
  ASSERT_TRUE(j.ok());
  const Json& a = (*j)["a"];
  auto arr = AsFiniteNumberArray(a["b"], "a.b");
  ASSERT_FALSE(arr.ok());
  EXPECT_NE(arr.status().message().find("a.b[2]"), std::string::npos);
  EXPECT_DOUBLE_EQ(*GetFiniteNumber(a, "n", "a"), -0.5);
  EXPECT_FALSE(GetFiniteNumber(a, "s", "a").ok());
  // Numbers beyond double range are refused by the parser itself.
  EXPECT_FALSE(ParseJson("[1e999]", "doc").ok());
  EXPECT_EQ(*AsInteger(a["i"], "a.i", 0, 10), 3);
  EXPECT_FALSE(AsInteger(a["i"], "a.i", 5, 10).ok());
  EXPECT_EQ(*GetString(a, "s", "a"), "t");
  auto missing = GetField(a, "zz", "a");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "a.zz: missing field");
}

}  // namespace
}  // namespace wattson
