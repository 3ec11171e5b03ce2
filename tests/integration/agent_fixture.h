// A GoogleTest fixture for the agent's end-to-end tests: a temp folder, a busy copy of
// testdata/hosts/agent-integration driven by FakeHostDriver, and `wattson agent` running over
// it. Members stop in reverse order (agent, driver, folder), also when a test fails.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {

// The pods of testdata/hosts/agent-integration/kubelet-pods.json: {namespace, name}.
inline const std::set<std::pair<std::string, std::string>>& ExpectedPods() {
  static const std::set<std::pair<std::string, std::string>> pods = {
      {"shop", "web-7d4b9c8f6-x2k9p"}, {"shop", "cache-0"}, {"jobs", "batch-job-q8w2z"}};
  return pods;
}

// Declares `var` = the path of executable `name`; when it is missing the test fails, or skips
// where WATTSON_SKIP_BROWSER_TESTS=1.
#define WATTSON_REQUIRE_TOOL(var, name)                                                         \
  const std::optional<::wattson::integration::fs::path> var =                                   \
      ::wattson::integration::FindExecutable(name);                                             \
  if (!var.has_value()) {                                                                       \
    if (::wattson::integration::SkipBrowserTests()) {                                           \
      GTEST_SKIP() << "'" << (name) << "' is not installed (WATTSON_SKIP_BROWSER_TESTS=1)";     \
    }                                                                                           \
    FAIL() << "'" << (name) << "' is not installed; scripts/install-deps.sh installs it "       \
           << "(Debian packages prometheus, chromium), or set WATTSON_SKIP_BROWSER_TESTS=1 to " \
           << "skip the tests that need it";                                                    \
  }

class AgentIntegrationTest : public ::testing::Test {
 protected:
  // Copies the fake host, starts the driver and the agent; fails the test (fatally) on error.
  void StartAgent(std::vector<std::string> extra_args = {}) {
    ASSERT_TRUE(tmp_.ok()) << "cannot create a temp dir";
    const fs::path src = TestdataDir() / "hosts" / "agent-integration";
    ASSERT_TRUE(fs::is_directory(src / "root")) << src << " missing";
    auto driver =
        FakeHostDriver::Create(src / "root", tmp_.path() / "host", AgentIntegrationLoad());
    ASSERT_TRUE(driver.ok()) << driver.status().ToString();
    driver_ = std::move(*driver);
    const Status started = driver_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();

    AgentProcess::Options o;
    o.work_dir = tmp_.path();
    o.host_root = driver_->root();
    o.pod_list_file = src / "kubelet-pods.json";
    o.extra_args = std::move(extra_args);
    const SteadyTime start = std::chrono::steady_clock::now();
    const Status s = agent_.Start(o);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::cout << fmt::format("[agent] port {}, healthy after {:.2f} s\n", agent_.port(),
                             SecondsSince(start));
  }

  // Fails the test if the driver thread hit an error or the agent died.
  void CheckStillRunning() {
    if (driver_) {
      const Status e = driver_->error();
      EXPECT_TRUE(e.ok()) << "fake host driver: " << e.ToString();
    }
    EXPECT_TRUE(agent_.Running()) << "the agent exited during the test:\n" << agent_.Logs();
  }

  TempDir tmp_;
  std::unique_ptr<FakeHostDriver> driver_;
  AgentProcess agent_;
};

}  // namespace wattson::integration
