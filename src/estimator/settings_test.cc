#include "estimator/settings.h"

#include "estimator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::estimator {
namespace {

using ::testing::HasSubstr;
using testing::MapEnv;

TEST(SettingsTest, DefaultsMatchKepler) {
  ConfigLookup config(MapEnv({}), {}, "");
  auto s = ResolveEstimatorSettings({}, config);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->server.socket_path, "/tmp/estimator.sock");
  EXPECT_EQ(s->server.socket_mode, 0660u);
  EXPECT_EQ(s->server.max_request_bytes, std::size_t{16} << 20);
  EXPECT_GE(s->server.max_connections, 64u);
  EXPECT_EQ(s->estimator.dyn_power_rule, DynPowerRule::kNodeConserving);
  EXPECT_TRUE(s->metrics_address.empty());
}

TEST(SettingsTest, FlagBeatsEnvBeatsFile) {
  ConfigLookup config(MapEnv({{"WATTSON_ESTIMATOR_SOCKET", "/env.sock"},
                              {"WATTSON_ESTIMATOR_MAX_REQUEST_BYTES", "2048"}}),
                      KeyValues{{"WATTSON_ESTIMATOR_MAX_REQUEST_BYTES", "4096"},
                                {"WATTSON_MODEL_DIRS", "/a, /b"},
                                {"WATTSON_ESTIMATOR_DYN_POWER_RULE", "row"},
                                {"WATTSON_ESTIMATOR_REFRESH_SECONDS", "0"}},
                      "");
  auto s = ResolveEstimatorSettings(KeyValues{{"WATTSON_ESTIMATOR_SOCKET", "/flag.sock"}}, config);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->server.socket_path, "/flag.sock");
  EXPECT_EQ(s->server.max_request_bytes, 2048u);
  EXPECT_EQ(s->sources.model_dirs, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(s->estimator.dyn_power_rule, DynPowerRule::kPerRow);
  EXPECT_EQ(s->refresh_interval.count(), 0);
}

TEST(SettingsTest, BadValuesSayWhereTheyCameFrom) {
  ConfigLookup config(MapEnv({{"WATTSON_ESTIMATOR_MAX_CONNECTIONS", "8"}}), {}, "");
  auto s = ResolveEstimatorSettings({}, config);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("WATTSON_ESTIMATOR_MAX_CONNECTIONS (from environment)"));
  ConfigLookup config2(MapEnv({}), {}, "");
  auto t =
      ResolveEstimatorSettings(KeyValues{{"WATTSON_ESTIMATOR_TRAINER_MATCH", "loose"}}, config2);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("command line"));
  ConfigLookup config3(MapEnv({{"MODEL_SERVER_ENABLE", "yes"}}), {}, "");
  EXPECT_FALSE(ResolveEstimatorSettings({}, config3).ok());
}

TEST(SettingsTest, BusyPollKey) {
  ConfigLookup none(MapEnv({}), {}, "");
  auto d = ResolveEstimatorSettings({}, none);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_GT(d->server.busy_poll.count(), 0);  // on by default
  ConfigLookup off(MapEnv({{"WATTSON_ESTIMATOR_BUSY_POLL_US", "0"}}), {}, "");
  auto s = ResolveEstimatorSettings({}, off);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->server.busy_poll.count(), 0);
  auto t = ResolveEstimatorSettings(KeyValues{{"WATTSON_ESTIMATOR_BUSY_POLL_US", "200"}}, off);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->server.busy_poll.count(), 200);
  EXPECT_FALSE(
      ResolveEstimatorSettings(KeyValues{{"WATTSON_ESTIMATOR_BUSY_POLL_US", "-1"}}, none).ok());
  EXPECT_FALSE(
      ResolveEstimatorSettings(KeyValues{{"WATTSON_ESTIMATOR_BUSY_POLL_US", "20000"}}, none).ok());
}

}  // namespace
}  // namespace wattson::estimator
