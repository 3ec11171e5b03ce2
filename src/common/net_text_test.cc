#include "common/net_text.h"

#include "gtest/gtest.h"

namespace wattson {
namespace {

TEST(NetTextTest, ParseHostPort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("0.0.0.0:9102", "bind address", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9102);
  ASSERT_TRUE(ParseHostPort("[::1]:0", "bind address", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  for (const char* bad : {"nope", ":80", "h:", "h:99999", "h:8x", "h:-1"}) {
    Status s = ParseHostPort(bad, "bind address", &host, &port);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("bind address"), std::string::npos) << s.message();
  }
}

TEST(NetTextTest, EscapeLabelValue) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

}  // namespace
}  // namespace wattson
