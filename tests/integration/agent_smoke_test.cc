// `wattson agent` over the busy fake host, read directly (no Prometheus, no browser): /healthz,
// Kepler container series for every pod with growing energy, node series, and the snapshot API.
#include <cmath>
#include <iostream>
#include <map>
#include <regex>
#include <string>

#include "agent_fixture.h"
#include "gtest/gtest.h"
#include "integration_util.h"

namespace wattson::integration {
namespace {

// Σ kepler_container_joules_total (all modes) per {namespace, pod} in an exposition.
std::map<std::pair<std::string, std::string>, double> PodJoules(const std::string& text) {
  std::map<std::pair<std::string, std::string>, double> out;
  static const std::regex ns_re(R"re(container_namespace="([^"]*)")re");
  static const std::regex pod_re(R"re(pod_name="([^"]*)")re");
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("kepler_container_joules_total{", 0) != 0) continue;
    std::smatch ns, pod;
    if (!std::regex_search(line, ns, ns_re) || !std::regex_search(line, pod, pod_re)) continue;
    const double v = std::strtod(line.substr(line.rfind(' ') + 1).c_str(), nullptr);
    out[{ns[1], pod[1]}] += v;
  }
  return out;
}

TEST_F(AgentIntegrationTest, ServesGrowingKeplerSeriesForEveryPod) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  SleepSeconds(1.0);
  const HttpReply first = HttpGet(agent_.port(), "/metrics");
  ASSERT_EQ(first.status, 200) << first.error;
  SleepSeconds(1.5);  // three more ticks
  const HttpReply second = HttpGet(agent_.port(), "/metrics");
  ASSERT_EQ(second.status, 200) << second.error;

  const auto a = PodJoules(first.body), b = PodJoules(second.body);
  for (const auto& pod : ExpectedPods()) {
    ASSERT_EQ(b.count(pod), 1u) << "no kepler_container_joules_total for " << pod.first << "/"
                                << pod.second << " in:\n"
                                << second.body.substr(0, 3000);
    const double before = a.count(pod) ? a.at(pod) : 0.0;
    EXPECT_TRUE(std::isfinite(b.at(pod)));
    EXPECT_GT(b.at(pod), before) << pod.first << "/" << pod.second << " energy did not grow";
  }
  for (const std::string name : {"kepler_node_info", "kepler_container_package_joules_total",
                                 "wattson_node_power_watts", "wattson_model_info"}) {
    EXPECT_NE(second.body.find(name), std::string::npos) << name << " missing";
  }
  EXPECT_NE(second.body.find("origin=\"estimated\""), std::string::npos)
      << "--meters none: node power must be labelled estimated";

  const HttpReply snap = HttpGet(agent_.port(), "/api/v1/snapshot");
  ASSERT_EQ(snap.status, 200) << snap.error;
  auto j = ParseJson(snap.body, "snapshot");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  std::set<std::pair<std::string, std::string>> pods;
  if (const Json* top = FindField(*j, "top"); top != nullptr && top->contains("pods")) {
    for (const Json& p : (*top)["pods"])
      pods.insert({p.value("namespace", ""), p.value("name", "")});
  }
  for (const auto& pod : ExpectedPods()) {
    EXPECT_EQ(pods.count(pod), 1u) << pod.second << " not in the snapshot's top pods";
  }
  CheckStillRunning();
  std::cout << fmt::format("[agent] smoke test took {:.1f} s\n", SecondsSince(t0));
}

TEST_F(AgentIntegrationTest, StopsCleanlyOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  SleepSeconds(0.6);
  const std::optional<int> status = agent_.Stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << "SIGTERM should end the agent cleanly:\n" << agent_.Logs();
}

}  // namespace
}  // namespace wattson::integration
