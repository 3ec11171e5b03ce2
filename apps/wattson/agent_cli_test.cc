// End-to-end tests of `wattson agent`: the binary on a fake host tree, scraped over HTTP while it
// runs.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "agent/config.h"
#include "cli_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace wattson::cli {
namespace {

using test::BinaryTest;
using test::RunResult;
using ::testing::HasSubstr;

const std::string kTestdata = WATTSON_TESTDATA_DIR;

class AgentCliTest : public BinaryTest {};

TEST_F(AgentCliTest, EstimatedNodePowerWithModelIdWhileRunning) {
  const std::string port_file = (dir_ / "port").string();
  RunResult r;
  std::thread agent([&] {
    r = Run({"agent", "--host-root", kTestdata + "/hosts/agent-rapl-containers", "--listen",
             "127.0.0.1:0", "--port-file", port_file, "--period", "0.2", "--ticks", "5", "--meters",
             "none", "--node-name", "cli-node", "--log-level", "info"});
  });
  int port = 0;
  std::string metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (port == 0 && std::filesystem::exists(port_file)) {
      const std::string text = test::ReadFile(port_file);
      if (!text.empty() && text.back() == '\n') port = std::stoi(text);
    }
    if (port != 0) {
      httplib::Client client("127.0.0.1", port);
      client.set_connection_timeout(1);
      client.set_read_timeout(2);
      auto res = client.Get("/metrics");
      if (!res) break;  // the agent has finished
      if (res->status == 200 && res->body.find("wattson_node_power_watts{") != std::string::npos) {
        metrics = res->body;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  agent.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(port, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("listening on http://127.0.0.1:" + std::to_string(port)));
  ASSERT_FALSE(metrics.empty()) << "no node power in /metrics while the agent ran\n" << r.err;
  // Estimated node power per zone, labelled with the embedded model's id.
  EXPECT_THAT(metrics, HasSubstr("origin=\"estimated\""));
  EXPECT_THAT(metrics, HasSubstr("model_id=\"wattson-default/nx12-rapl-sysfs-BPFOnly"));
  EXPECT_THAT(metrics, HasSubstr("model_id=\"wattson-default/nx12-acpi-BPFOnly"));
  EXPECT_THAT(metrics, HasSubstr("kepler_node_package_joules_total{"));
  EXPECT_THAT(metrics, HasSubstr("source=\"trained_power_model\""));
  EXPECT_THAT(metrics, HasSubstr("kepler_node_info{"));
  EXPECT_THAT(metrics, HasSubstr("instance=\"cli-node\""));
  EXPECT_THAT(metrics, HasSubstr("wattson_model_info{"));
  // The start-up log says what was probed and which model covers which zone.
  EXPECT_THAT(r.err, HasSubstr("meters: none probed"));
  EXPECT_THAT(r.err, HasSubstr("estimated by model 'wattson-default/"));
  EXPECT_THAT(r.err, HasSubstr("stopped after 5 tick(s)"));
}

TEST_F(AgentCliTest, ProbesMetersAndLogsWhy) {
  RunResult r = Run({"agent", "--host-root", kTestdata + "/hosts/agent-rapl-containers", "--listen",
                     "127.0.0.1:0", "--period", "0.05", "--ticks", "2", "--meters", "rapl,hwmon",
                     "--log-level", "info"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("meter rapl: found"));
  EXPECT_THAT(r.err, HasSubstr("meter hwmon: not used"));
  EXPECT_THAT(r.err, HasSubstr("zone package: rapl-sysfs"));
}

TEST_F(AgentCliTest, BadConfigurationIsAUsageError) {
  RunResult r = Run({"agent", "--period", "soon", "--ticks", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("'period'"));
  EXPECT_THAT(r.err, HasSubstr("flag --period"));
  const std::string cfg = (dir_ / "agent.yaml").string();
  test::WriteFile(cfg, "perod: 3\n");
  r = Run({"agent", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown key 'perod'"));
  r = Run({"agent", "--host-root", kTestdata + "/hosts/agent-rapl-containers", "--listen",
           "127.0.0.1:0", "--ticks", "1", "--model", (dir_ / "absent.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("absent.json"));
}

TEST_F(AgentCliTest, HelpListsTheContractOptions) {
  RunResult r = Run({"agent", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* opt :
       {"--config", "--host-root", "--period", "--listen", "--metrics-path", "--ticks",
        "--port-file", "--node-name", "--model", "--estimator-socket", "--process-metrics",
        "--meters", "--passthrough-file", "--passthrough-url", "--kubelet-url",
        "--kubelet-token-file", "--pod-list-file", "--kepler-config-dir"}) {
    EXPECT_THAT(r.out, HasSubstr(opt)) << opt;
  }
  // Every configuration key has its flag (docs/agent.md's table lists them all).
  for (const agent::ConfigKeyDef& def : agent::AgentConfigKeys()) {
    if (def.flag.empty()) continue;
    EXPECT_THAT(r.out, HasSubstr(std::string(def.flag) + " ")) << def.key;
  }
}

}  // namespace
}  // namespace wattson::cli
