// Issue 5 acceptance: the agent's web page at / works in a real browser. Headless Chromium
// (Debian `chromium`) loads it, runs its script against the agent for a few seconds of virtual
// time and dumps the DOM: node power shows a number, the zone and pod tables are filled, and
// the chart drew (its script records the points drawn in the canvas' data-points attribute).
#include <iostream>
#include <regex>
#include <string>

#include "agent_fixture.h"
#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {
namespace {

TEST_F(AgentIntegrationTest, WebPageShowsNumbersAndDrawsTheChartInHeadlessChromium) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  WATTSON_REQUIRE_TOOL(chromium, "chromium");
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  // A few ticks of history for the chart (period 0.5 s).
  SleepSeconds(1.5);

  const fs::path profile = tmp_.path() / "chromium-profile";
  fs::create_directories(profile);
  ChildProcess browser;
  ChildProcess::Options o;
  o.argv = {chromium->string(),
            "--headless",
            "--no-sandbox",  // needed as root (CI containers)
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--user-data-dir=" + profile.string(),
            "--virtual-time-budget=8000",
            "--dump-dom",
            fmt::format("http://127.0.0.1:{}/", agent_.port())};
  o.stdout_path = tmp_.path() / "chromium.dom.html";
  o.stderr_path = tmp_.path() / "chromium.stderr";
  o.extra_env = {"HOME=" + profile.string()};
  o.max_lifetime_s = 90;
  const Status started = browser.Start(o);
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto rc = browser.Wait(45.0);
  ASSERT_TRUE(rc.ok()) << "chromium: " << rc.status().ToString() << "\n" << TailOf(o.stderr_path);
  const std::string dom = ReadText(o.stdout_path);
  ASSERT_EQ(*rc, 0) << "chromium exited " << *rc << ":\n" << TailOf(o.stderr_path);
  ASSERT_FALSE(dom.empty()) << "chromium dumped no DOM:\n" << TailOf(o.stderr_path);

  std::smatch m;
  // Node power: "<span class="big" id="node-watts">123.4</span>", not the "–" placeholder.
  ASSERT_TRUE(
      std::regex_search(dom, m, std::regex(R"re(id="node-watts"[^>]*>([0-9]+\.[0-9]+)<)re")))
      << "no node power number in the DOM:\n"
      << dom.substr(0, 4000);
  const double node_watts = std::stod(m[1]);
  EXPECT_GT(node_watts, 0.0);
  // The status line says the page reached the agent ("<instance> · N ticks · updated ...").
  ASSERT_TRUE(std::regex_search(dom, m, std::regex(R"re(id="status"[^>]*>([^<]*)<)re")));
  const std::string status = m[1];
  EXPECT_EQ(status.find("cannot reach the agent"), std::string::npos) << status;
  EXPECT_TRUE(std::regex_search(status, std::regex("[0-9]+ ticks"))) << status;
  // The chart drew: drawChart() sets data-points on the canvas after stroking the series.
  ASSERT_TRUE(std::regex_search(dom, m, std::regex(R"re(<canvas[^>]*id="chart"[^>]*>)re")));
  const std::string canvas = m[0];
  ASSERT_TRUE(std::regex_search(canvas, m, std::regex(R"re(data-points="([0-9]+)")re")))
      << "the chart did not draw (no data-points on " << canvas << ")";
  const int points = std::stoi(m[1]);
  EXPECT_GE(points, 2) << canvas;
  // Tables: a zone row with a number, and every pod of the scenario.
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"re(<td class="num">[0-9]+\.[0-9]</td>)re")));
  for (const auto& [ns, pod] : ExpectedPods()) {
    EXPECT_NE(dom.find(">" + pod + "<"), std::string::npos) << "pod " << pod << " not shown";
  }
  std::cout << fmt::format("[chromium] node {:.1f} W, chart {} points, test took {:.1f} s\n",
                           node_watts, points, SecondsSince(t0));
  CheckStillRunning();
}

}  // namespace
}  // namespace wattson::integration
