#include "common/strings.h"

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(StringsTest, TrimAndLower) {
  EXPECT_EQ(Trim("  package-0\n"), "package-0");
  EXPECT_EQ(Trim("\t \n"), "");
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Lower("True AbsPower"), "true abspower");
}

}  // namespace
}  // namespace wattson
