// The running agent's /metrics passes Prometheus' own checker, `promtool check metrics` (Debian
// package prometheus): exit 0 (clean) or 3 (lint warnings only, printed); a parse error (exit 1)
// fails the test.
#include <iostream>
#include <string>

#include "agent_fixture.h"
#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {
namespace {

TEST_F(AgentIntegrationTest, PromtoolAcceptsTheExposition) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  WATTSON_REQUIRE_TOOL(promtool, "promtool");
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  // Two more ticks, so the exposition carries workload series with non-zero energy.
  SleepSeconds(1.2);
  const HttpReply metrics = HttpGet(agent_.port(), "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error << metrics.body;
  ASSERT_NE(metrics.body.find("kepler_container_joules_total{"), std::string::npos)
      << metrics.body.substr(0, 2000);

  const fs::path body = tmp_.path() / "metrics.txt";
  std::ofstream(body, std::ios::binary) << metrics.body;
  ChildProcess check;
  ChildProcess::Options o;
  o.argv = {promtool->string(), "check", "metrics"};
  o.stdin_path = body;
  o.stdout_path = tmp_.path() / "promtool.stdout";
  o.stderr_path = tmp_.path() / "promtool.stderr";
  o.max_lifetime_s = 60;
  const Status started = check.Start(o);
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto rc = check.Wait(30.0);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  const std::string out = ReadText(o.stdout_path) + ReadText(o.stderr_path);
  EXPECT_TRUE(*rc == 0 || *rc == 3)
      << "promtool check metrics exited " << *rc << " (1 = the exposition does not parse):\n"
      << out;
  if (*rc == 3) std::cout << "[promtool] lint warnings:\n" << out;
  std::cout << fmt::format(
      "[promtool] exit {}, {} bytes, {} lines checked in {:.1f} s\n", *rc, metrics.body.size(),
      std::count(metrics.body.begin(), metrics.body.end(), '\n'), SecondsSince(t0));
  RecordProperty("promtool_output", out);
  CheckStillRunning();
}

}  // namespace
}  // namespace wattson::integration
