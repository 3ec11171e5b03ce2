#include "estimator/config.h"

#include <fstream>

#include "estimator/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::estimator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MapEnv;

TEST(ModelConfigTest, KeplerManifestForm) {
  std::vector<std::string> warnings;
  // The v0.7.11 sidecar patch (spec §3.6), plus a URL with '=' in its query and a comment.
  auto kv = ParseModelConfig(
      "NODE_COMPONENTS_ESTIMATOR=true\n"
      "NODE_COMPONENTS_INIT_URL=https://host/a.json?x=1&y=2\n"
      "# a comment NODE_TOTAL_INIT_URL=nope\n"
      "  NODE_TOTAL_ESTIMATOR=true   PROCESS_TOTAL_TRAINER=SGDRegressorTrainer\n"
      "bogus =x\n",
      &warnings);
  EXPECT_EQ(kv["NODE_COMPONENTS_INIT_URL"], "https://host/a.json?x=1&y=2");
  EXPECT_EQ(kv["NODE_TOTAL_ESTIMATOR"], "true");
  EXPECT_EQ(kv["PROCESS_TOTAL_TRAINER"], "SGDRegressorTrainer");
  EXPECT_EQ(kv.count("NODE_TOTAL_INIT_URL"), 0u);
  EXPECT_EQ(kv.size(), 4u);
  ASSERT_EQ(warnings.size(), 2u);  // "bogus" and "=x"
}

TEST(KeyValueFileTest, ParsesAndRejects) {
  auto kv = ParseKeyValueFile("# c\nA = 1\n\nB=two words \n", "f");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ((*kv)["A"], "1");
  EXPECT_EQ((*kv)["B"], "two words");
  auto bad = ParseKeyValueFile("A=1\nnot a pair\n", "f");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 2"));
}

TEST(ConfigLookupTest, PrecedenceEnvThenFileThenDirThenModelConfig) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
  };
  write("A", " from-dir \n");
  write("B", "from-dir");
  write("C", "from-dir");
  write("MODEL_CONFIG", "D=from-model-config\nC=from-model-config\n");
  ConfigLookup lookup(MapEnv({{"A", " from-env "}}), KeyValues{{"A", "file"}, {"B", "file"}},
                      dir.path());
  EXPECT_EQ(lookup.Get("A"), "from-env");
  EXPECT_EQ(lookup.Origin("A"), "environment");
  EXPECT_EQ(lookup.Get("B"), "file");
  EXPECT_EQ(lookup.Get("C"), "from-dir");
  EXPECT_EQ(lookup.Get("D"), "from-model-config");
  EXPECT_EQ(lookup.Origin("D"), "MODEL_CONFIG");
  EXPECT_EQ(lookup.Get("E"), std::nullopt);
  EXPECT_EQ(lookup.Get("../etc/passwd"), std::nullopt);  // never a path outside the dir
}

TEST(ConfigLookupTest, KeplerModelServerAndInitUrls) {
  ModelSourceConfig sources;
  ConfigLookup defaults(MapEnv({}), {}, "");
  ApplyKeplerModelConfig(defaults, &sources);
  EXPECT_FALSE(sources.model_server_enable);
  EXPECT_EQ(sources.model_server_endpoint,
            "http://kepler-model-server.kepler.svc.cluster.local:8100/model");
  EXPECT_TRUE(sources.init_urls.empty());

  ConfigLookup custom(
      MapEnv({{"MODEL_SERVER_ENABLE", "True"},
              {"MODEL_SERVER_URL", "http://127.0.0.1:9/"},
              {"MODEL_SERVER_MODEL_REQ_PATH", "pick"},
              {"ERROR_KEY", "mape"},
              {"MODEL_CONFIG",
               "PROCESS_COMPONENTS_INIT_URL=file:///m.json PROCESS_COMPONENTS_TRAINER=X "
               "NODE_TOTAL_INIT_URL=/n.json"}}),
      {}, "");
  ApplyKeplerModelConfig(custom, &sources);
  EXPECT_TRUE(sources.model_server_enable);
  EXPECT_EQ(sources.model_server_endpoint, "http://127.0.0.1:9/pick");
  EXPECT_EQ(sources.error_key, "mape");
  ASSERT_EQ(sources.init_urls.size(), 2u);
  EXPECT_EQ(sources.init_urls[0].prefix, "NODE_TOTAL");
  EXPECT_EQ(sources.init_urls[1].prefix, "PROCESS_COMPONENTS");
  EXPECT_EQ(sources.init_urls[1].trainer, "X");

  ConfigLookup host_only(
      MapEnv({{"MODEL_SERVER_URL", "models.local"}, {"MODEL_SERVER_PORT", "8200"}}), {}, "");
  ApplyKeplerModelConfig(host_only, &sources);
  EXPECT_EQ(sources.model_server_endpoint, "http://models.local:8200/model");
}

TEST(InitUrlPrefixesTest, OutputTypeAndSourceBothCount) {
  EXPECT_THAT(InitUrlPrefixesFor(OutputType::kAbsPower, "acpi"), ElementsAre("NODE_TOTAL"));
  EXPECT_THAT(InitUrlPrefixesFor(OutputType::kAbsPower, "rapl-sysfs"),
              ElementsAre("NODE_COMPONENTS"));
  EXPECT_THAT(InitUrlPrefixesFor(OutputType::kDynPower, "acpi"),
              ElementsAre("PROCESS_TOTAL", "CONTAINER_TOTAL"));
  EXPECT_THAT(InitUrlPrefixesFor(OutputType::kDynPower, "rapl-sysfs"),
              ElementsAre("PROCESS_COMPONENTS", "CONTAINER_COMPONENTS"));
}

TEST(ParseBoolTest, Values) {
  EXPECT_TRUE(*ParseBool("K", " TRUE "));
  EXPECT_FALSE(*ParseBool("K", "false"));
  EXPECT_FALSE(ParseBool("K", "yes").ok());
}

}  // namespace
}  // namespace wattson::estimator
