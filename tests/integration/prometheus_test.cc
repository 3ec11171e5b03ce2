// Issue 5 acceptance: a real Prometheus server (Debian's `prometheus`) scrapes `wattson agent`
// over a busy fake host and answers a PromQL query for each pod's power.
#include <cmath>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "agent_fixture.h"
#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {
namespace {

TEST_F(AgentIntegrationTest, PrometheusScrapesAgentAndAnswersContainerPower) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  WATTSON_REQUIRE_TOOL(prometheus, "prometheus");
  ASSERT_NO_FATAL_FAILURE(StartAgent());

  PrometheusServer prom;
  fs::create_directories(tmp_.path() / "prometheus");
  const Status started = prom.Start(*prometheus, tmp_.path() / "prometheus", agent_.port());
  ASSERT_TRUE(started.ok()) << started.ToString();
  const Status scraped = prom.WaitForScrapes(3, 30.0);
  ASSERT_TRUE(scraped.ok()) << scraped.ToString();

  // The query: each pod's power in watts (Kepler's dashboard "Pod/Process Power").
  const std::string expr =
      "sum by (pod_name, container_namespace) (irate(kepler_container_joules_total[10s]))";
  std::map<std::pair<std::string, std::string>, double> watts;  // {namespace, pod} -> W
  std::string last;
  bool all_positive = false;
  while (SecondsSince(t0) < 45.0) {
    auto r = prom.Query(expr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    watts.clear();
    for (const Json& sample : *r) {
      const Json& m = sample["metric"];
      const double v = std::strtod(sample["value"][1].get<std::string>().c_str(), nullptr);
      const std::string ns = m.value("container_namespace", "");
      const std::string pod = m.value("pod_name", "");
      ASSERT_TRUE(std::isfinite(v) && v >= 0.0) << expr << " gave " << v << " W for " << ns << "/"
                                                << pod << " (raw " << sample.dump() << ")";
      watts[{ns, pod}] = v;
    }
    last = r->dump();
    all_positive = !watts.empty();
    for (const auto& pod : ExpectedPods()) {
      auto it = watts.find(pod);
      all_positive = all_positive && it != watts.end() && it->second > 0.0;
    }
    if (all_positive) break;
    SleepSeconds(0.5);
  }
  ASSERT_FALSE(watts.empty()) << expr << " returned no data; last reply: " << last << "\n"
                              << agent_.Logs();
  for (const auto& pod : ExpectedPods()) {
    auto it = watts.find(pod);
    ASSERT_NE(it, watts.end()) << "no power for pod " << pod.first << "/" << pod.second
                               << " (names come from --pod-list-file); reply: " << last;
    EXPECT_GT(it->second, 0.0) << "pod " << pod.first << "/" << pod.second
                               << " is busy on the fake host but got 0 W; reply: " << last;
  }
  for (const auto& [pod, w] : watts) {
    std::cout << fmt::format("[prometheus] {}/{}: {:.3f} W\n", pod.first, pod.second, w);
  }
  CheckStillRunning();
  std::cout << fmt::format("[prometheus] test took {:.1f} s\n", SecondsSince(t0));
  EXPECT_LT(SecondsSince(t0), 60.0);
}

}  // namespace
}  // namespace wattson::integration
