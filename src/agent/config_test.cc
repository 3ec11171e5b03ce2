#include "agent/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::agent {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wattson_agent_cfg.XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    kepler_ = dir_ / "kepler.config";
    std::filesystem::create_directories(kepler_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  void Kepler(const std::string& key, const std::string& value) {
    std::ofstream(kepler_ / key) << value;
  }
  ConfigSources Sources() {
    ConfigSources s;
    s.env = [this](const std::string& k) -> std::optional<std::string> {
      auto it = env_.find(k);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    s.flags["kepler_config_dir"] = kepler_.string();
    return s;
  }

  std::filesystem::path dir_, kepler_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, Defaults) {
  auto c = LoadAgentConfig(Sources());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->period.value(), 3.0);
  EXPECT_EQ(c->listen, "0.0.0.0:9102");
  EXPECT_EQ(c->metrics_path, "/metrics");
  EXPECT_EQ(c->host_root, "/");
  EXPECT_FALSE(c->process_metrics);
  EXPECT_TRUE(c->container_metrics);
  EXPECT_EQ(c->meters, (std::vector<std::string>{"rapl", "hwmon", "nvml"}));
  EXPECT_EQ(c->origins.at("period"), "default");
}

TEST_F(ConfigTest, PrecedenceFlagEnvKeplerDirFileDefault) {
  const std::string file = Write("agent.yaml",
                                 "period: 7\n"
                                 "listen: 127.0.0.1:1111\n"
                                 "metrics_path: /from-file\n"
                                 "node_name: file-node\n"
                                 "process_metrics: true\n");
  Kepler("SAMPLE_PERIOD_SEC", "  6 \n");
  Kepler("BIND_ADDRESS", "127.0.0.1:2222\n");
  Kepler("METRIC_PATH", "/from-kepler\n");
  env_["SAMPLE_PERIOD_SEC"] = "5";
  env_["BIND_ADDRESS"] = "127.0.0.1:3333";
  ConfigSources s = Sources();
  s.config_file = file;
  s.flags["period"] = "4";
  auto c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->period.value(), 4.0);           // flag
  EXPECT_EQ(c->listen, "127.0.0.1:3333");      // environment
  EXPECT_EQ(c->metrics_path, "/from-kepler");  // Kepler folder
  EXPECT_EQ(c->node_name, "file-node");        // config file
  EXPECT_TRUE(c->process_metrics);             // config file
  EXPECT_EQ(c->estimator_socket, "");          // default
  EXPECT_EQ(c->origins.at("period"), "flag --period");
  EXPECT_EQ(c->origins.at("listen"), "environment BIND_ADDRESS");
  EXPECT_THAT(c->origins.at("metrics_path"), HasSubstr("METRIC_PATH"));
  EXPECT_EQ(c->origins.at("node_name"), "config file " + file);

  s.flags.erase("period");
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->period.value(), 5.0);  // environment over the Kepler folder
  env_.erase("SAMPLE_PERIOD_SEC");
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->period.value(), 6.0);  // Kepler folder (trimmed) over the file
  std::filesystem::remove(kepler_ / "SAMPLE_PERIOD_SEC");
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->period.value(), 7.0);  // file over the default
}

TEST_F(ConfigTest, KeplerBooleanKeys) {
  env_["ENABLE_PROCESS_METRICS"] = "TRUE";
  env_["EXPOSE_CONTAINER_METRICS"] = "false";
  env_["EXPOSE_VM_METRICS"] = "false";
  env_["EXPOSE_ESTIMATED_IDLE_POWER_METRICS"] = "false";
  env_["EXPOSE_COMPONENT_POWER"] = "false";
  env_["ENABLE_GPU"] = "false";
  env_["NODE_NAME"] = "n1";
  env_["CPU_ARCH_OVERRIDE"] = "Sapphire Rapids";
  auto c = LoadAgentConfig(Sources());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->process_metrics);
  EXPECT_FALSE(c->container_metrics);
  EXPECT_FALSE(c->vm_metrics);
  EXPECT_FALSE(c->idle_metrics);
  EXPECT_FALSE(c->component_metrics);
  EXPECT_FALSE(c->enable_gpu);
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->cpu_arch, "Sapphire Rapids");
}

TEST_F(ConfigTest, JsonFileWithListsAndNumbers) {
  const std::string file =
      Write("agent.json",
            R"({"period": 0.5, "meters": ["rapl", "hwmon"], "ticks": 10, "host_root": "/srv/h",)"
            R"( "idle_apportioning": "none"})");
  ConfigSources s = Sources();
  s.config_file = file;
  auto c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->period.value(), 0.5);
  EXPECT_EQ(c->meters, (std::vector<std::string>{"rapl", "hwmon"}));
  EXPECT_EQ(c->ticks, 10);
  EXPECT_EQ(c->host_root, "/srv/h");
  EXPECT_EQ(c->idle_apportioning, attribution::IdleApportioning::kNone);
}

TEST_F(ConfigTest, ProcOpenFiles) {
  auto c = LoadAgentConfig(Sources());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proc_open_files, 4096);
  ConfigSources s = Sources();
  s.config_file = Write("open.yaml", "proc_open_files: 0\n");
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->proc_open_files, 0);
  s.config_file = "";
  s.flags["proc_open_files"] = "-1";
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("proc_open_files"));
}

TEST_F(ConfigTest, CpuTimeSource) {
  auto c = LoadAgentConfig(Sources());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cpu_time_source, "auto");
  ConfigSources s = Sources();
  s.config_file = Write("cpu.yaml", "cpu_time_source: procfs\n");
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cpu_time_source, "procfs");
  s.flags["cpu_time_source"] = "ebpf";
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cpu_time_source, "ebpf");
  EXPECT_EQ(c->origins.at("cpu_time_source"), "flag --cpu-time-source");
  s.flags["cpu_time_source"] = "bpf";
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("cpu_time_source"));
  EXPECT_THAT(c.status().message(), HasSubstr("auto, ebpf, procfs"));
}

TEST_F(ConfigTest, MetersNone) {
  ConfigSources s = Sources();
  s.flags["meters"] = "none";
  auto c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->meters.empty());
  const std::string file = Write("m.yaml", "meters: []\n");
  s.flags.erase("meters");
  s.config_file = file;
  c = LoadAgentConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->meters.empty());
}

TEST_F(ConfigTest, ErrorsNameKeyAndSource) {
  env_["SAMPLE_PERIOD_SEC"] = "soon";
  auto c = LoadAgentConfig(Sources());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'period'"));
  EXPECT_THAT(c.status().message(), HasSubstr("environment SAMPLE_PERIOD_SEC"));
  EXPECT_THAT(c.status().message(), HasSubstr("soon"));
  env_.clear();

  Kepler("EXPOSE_VM_METRICS", "maybe");
  c = LoadAgentConfig(Sources());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("EXPOSE_VM_METRICS"));
  EXPECT_THAT(c.status().message(), HasSubstr("not a boolean"));
  std::filesystem::remove(kepler_ / "EXPOSE_VM_METRICS");

  ConfigSources s = Sources();
  s.config_file = Write("bad.yaml", "period: 3\nperiodd: 4\n");
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown key 'periodd'"));
  EXPECT_THAT(c.status().message(), HasSubstr("bad.yaml"));

  s.config_file = Write("bad2.json", R"({"meters": "rapl,gpu"})");
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown meter 'gpu'"));
  EXPECT_THAT(c.status().message(), HasSubstr("bad2.json"));

  s.config_file = Write("bad3.yaml", "period: [1, 2\n");
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("malformed YAML"));

  s.config_file = "";
  s.flags["period"] = "0";
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("flag --period"));
  s.flags["period"] = "1";
  s.flags["listen"] = "localhost";
  c = LoadAgentConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("HOST:PORT"));
}

TEST_F(ConfigTest, ModelConfig) {
  env_["MODEL_CONFIG"] =
      "NODE_COMPONENTS_ESTIMATOR=true\nNODE_TOTAL_INIT_URL=file:///models/platform.json\n"
      "NODE_TOTAL_TRAINER=GradientBoostingRegressorTrainer PROCESS_TOTAL_ESTIMATOR=true";
  auto c = LoadAgentConfig(Sources());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->components.use_estimator);
  EXPECT_FALSE(c->platform.use_estimator);
  EXPECT_EQ(c->platform.model_path, "/models/platform.json");
  EXPECT_EQ(c->platform.trainer, "GradientBoostingRegressorTrainer");
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("PROCESS_TOTAL_ESTIMATOR"));

  env_["MODEL_CONFIG"] = "NODE_TOTAL_INIT_URL=https://x/y.json";
  c = LoadAgentConfig(Sources());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("local files only"));
  env_["MODEL_CONFIG"] = "NODE_TOTAL_BOGUS=1";
  c = LoadAgentConfig(Sources());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("NODE_TOTAL_BOGUS"));
}

TEST_F(ConfigTest, FileFormats) {
  auto j = ParseAgentConfigText(R"({"period": 2, "process_metrics": false})", "x.conf");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->at("period"), "2");
  EXPECT_EQ(j->at("process_metrics"), "false");
  auto y = ParseAgentConfigText("# comment\nperiod: 2\nmeters:\n  - rapl\n  - hwmon\n", "x.conf");
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(y->at("meters"), "rapl,hwmon");
  EXPECT_TRUE(ParseAgentConfigText("", "empty.yaml").ok());
  EXPECT_FALSE(ParseAgentConfigText("[1, 2]", "list.yaml").ok());
  EXPECT_FALSE(ParseAgentConfigText(R"({"period": {"a": 1}})", "x.json").ok());
  EXPECT_FALSE(ParseAgentConfigText("period: 1\nperiod: 2\n", "dup.yaml").ok());
}

}  // namespace
}  // namespace wattson::agent
