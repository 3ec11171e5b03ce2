#include "common/csv.h"

#include <cmath>

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(CsvTest, ParsesQuotedFieldsAndLineEndings) {
  auto t = ParseCsv("a,b,\"c,d\"\r\n1,\"x \"\"y\"\"\",3\n\n4,5,6", "t");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->header, (std::vector<std::string>{"a", "b", "c,d"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0][1], "x \"y\"");
  EXPECT_EQ(t->ColumnIndex("c,d"), 2);
  EXPECT_EQ(t->ColumnIndex("zz"), -1);
}

TEST(CsvTest, ReportsBadInput) {
  EXPECT_NE(ParseCsv("a,b\n1,2\n3\n", "t").status().message().find("line 3"), std::string::npos);
  EXPECT_FALSE(ParseCsv("", "t").ok());
  EXPECT_FALSE(ParseCsv("a,b\n", "t").ok());
  EXPECT_TRUE(ParseCsv("a,b\n", "t", {}, /*require_rows=*/false).ok());
  EXPECT_FALSE(ParseCsv("a\n\"open", "t").ok());
  EXPECT_FALSE(ParseCsv("a\n\"x\"y", "t").ok());
  CsvLimits small;
  small.max_rows = 2;
  EXPECT_EQ(ParseCsv("a\n1\n2\n3\n", "t", small).status().code(), StatusCode::kOutOfRange);
}

TEST(CsvTest, StrictNumbers) {
  EXPECT_DOUBLE_EQ(*ParseFiniteDouble(" 1.5e3 "), 1500.0);
  EXPECT_DOUBLE_EQ(*ParseFiniteDouble("+2"), 2.0);
  EXPECT_DOUBLE_EQ(*ParseFiniteDouble("-0.25"), -0.25);
  for (const char* bad : {"", "abc", "1.2.3", "12abc", "nan", "inf", "1e999", "0x10"}) {
    EXPECT_FALSE(ParseFiniteDouble(bad).ok()) << bad;
  }
}

TEST(CsvTest, FormatDoubleRoundTrips) {
  for (double v : {0.1, 1.0 / 3.0, 240.54812345678901, 1e-300, 123456789.0}) {
    EXPECT_EQ(*ParseFiniteDouble(FormatDouble(v)), v);
  }
  EXPECT_EQ(CsvEscape("plain"), "plain");
  EXPECT_EQ(CsvEscape("a,\"b\""), "\"a,\"\"b\"\"\"");
}

}  // namespace
}  // namespace wattson
