// The integration scenario itself: testdata/hosts/agent-integration parses with wattson's own
// procfs and cgroup readers, FakeHostDriver makes its CPU times grow at the configured rates,
// and the pod list names its three pods. Needs neither the agent nor external tools.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "agent_fixture.h"
#include "common/clock.h"
#include "common/host_fs.h"
#include "gtest/gtest.h"
#include "integration_util.h"
#include "sources/usage/cgroup_identity.h"
#include "sources/usage/pod_resolver.h"
#include "sources/usage/procfs.h"

namespace wattson::integration {
namespace {

fs::path ScenarioDir() { return TestdataDir() / "hosts" / "agent-integration"; }

TEST(FakeHostDriverTest, CpuTimesGrowAtTheConfiguredRates) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::vector<ProcessLoad> load = AgentIntegrationLoad();
  auto driver = FakeHostDriver::Create(ScenarioDir() / "root", tmp.path() / "host", load, 0.05);
  ASSERT_TRUE(driver.ok()) << driver.status().ToString();
  RealClock clock;
  RootedHostFs host((*driver)->root().string());

  ASSERT_TRUE((*driver)->Step(0.0).ok());
  auto before = usage::ScanProcesses(host, clock);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE((*driver)->Step(10.0).ok());
  auto after = usage::ScanProcesses(host, clock);
  ASSERT_TRUE(after.ok()) << after.status().ToString();

  ASSERT_EQ(after->processes.size(), load.size());
  EXPECT_EQ(after->read_errors, 0);
  EXPECT_TRUE(after->unreadable_pids.empty());
  std::map<int, const usage::ProcessSample*> prev;
  for (const auto& p : before->processes) prev[p.pid] = &p;
  double total_cores = 0.05;
  for (const ProcessLoad& l : load) {
    total_cores += l.cores;
    const usage::ProcessSample* b = prev[l.pid];
    const usage::ProcessSample* a = nullptr;
    for (const auto& p : after->processes) a = p.pid == l.pid ? &p : a;
    ASSERT_NE(a, nullptr) << l.pid;
    ASSERT_NE(b, nullptr) << l.pid;
    // 10 s at `cores`: stat in 10 ms ticks (80 % user + 20 % system, each rounded), schedstat ns.
    EXPECT_NEAR((a->stat_cpu_time - b->stat_cpu_time).value(), l.cores * 10.0, 0.02) << l.pid;
    ASSERT_TRUE(a->schedstat_cpu_time.has_value() && b->schedstat_cpu_time.has_value());
    EXPECT_NEAR((*a->schedstat_cpu_time - *b->schedstat_cpu_time).value(), l.cores * 10.0, 1e-6)
        << l.pid;
    EXPECT_EQ(a->start_time_ticks, b->start_time_ticks);
    EXPECT_EQ(a->kernel_thread, l.pid == 2);
  }
  ASSERT_TRUE(before->node.has_value() && after->node.has_value());
  EXPECT_EQ(after->node->cpu_count, 4);
  EXPECT_NEAR((after->node->Busy() - before->node->Busy()).value(), total_cores * 10.0, 0.05);
  EXPECT_NEAR((after->node->Total() - before->node->Total()).value(), 4 * 10.0, 0.05);
  ASSERT_TRUE(before->uptime.has_value() && after->uptime.has_value());
  EXPECT_NEAR((*after->uptime - *before->uptime).value(), 10.0, 0.011);
  EXPECT_TRUE(host.Exists("/proc/meminfo"));
  EXPECT_TRUE(host.Exists("/sys/devices/system/cpu/online"));
}

TEST(FakeHostDriverTest, ThreadKeepsRewritingUntilStopped) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto driver =
      FakeHostDriver::Create(ScenarioDir() / "root", tmp.path() / "host", {{1201, 1.0}}, 0.0, 0.02);
  ASSERT_TRUE(driver.ok()) << driver.status().ToString();
  ASSERT_TRUE((*driver)->Start().ok());
  SleepSeconds(0.3);
  (*driver)->Stop();
  const int steps = (*driver)->steps();
  EXPECT_GE(steps, 3);
  SleepSeconds(0.1);
  EXPECT_EQ((*driver)->steps(), steps);
  EXPECT_TRUE((*driver)->error().ok()) << (*driver)->error().ToString();
  EXPECT_FALSE(fs::exists((*driver)->root() / "proc" / "stat.wattson-tmp"));
}

TEST(FakeHostDriverTest, MissingProcessIsAnError) {
  TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto driver = FakeHostDriver::Create(ScenarioDir() / "root", tmp.path() / "host", {{4242, 1}});
  EXPECT_FALSE(driver.ok());
}

TEST(AgentIntegrationScenarioTest, ThreePodsInTwoNamespacesOnThreeRuntimes) {
  RealClock clock;
  RootedHostFs host((ScenarioDir() / "root").string());
  auto scan = usage::ScanProcesses(host, clock);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  usage::PodResolverOptions opts;
  opts.static_file = (ScenarioDir() / "kubelet-pods.json").string();
  usage::PodResolver resolver(opts, clock);
  ASSERT_TRUE(resolver.MaybeRefresh(true).ok()) << resolver.last_status().ToString();
  EXPECT_EQ(resolver.pod_count(), 3u);

  std::set<std::pair<std::string, std::string>> pods;
  std::set<std::string> runtimes, containers;
  int system = 0;
  for (const auto& p : scan->processes) {
    const usage::WorkloadIdentity id = usage::IdentifyProcess(p.kernel_thread, p.cgroup_path);
    if (id.kind != usage::WorkloadKind::kContainer) {
      ++system;
      continue;
    }
    const usage::ResolvedWorkload r = resolver.Resolve(id);
    EXPECT_TRUE(r.pod_known) << p.pid << " " << p.cgroup_path;
    EXPECT_FALSE(r.container_name.empty()) << p.pid;
    pods.insert({r.pod_namespace, r.pod_name});
    runtimes.insert(std::string(usage::ContainerRuntimeName(id.runtime)));
    containers.insert(r.container_name);
  }
  EXPECT_EQ(pods, ExpectedPods());
  EXPECT_EQ(runtimes, (std::set<std::string>{"containerd", "cri-o", "docker"}));
  EXPECT_EQ(containers, (std::set<std::string>{"nginx", "envoy", "redis", "worker"}));
  EXPECT_EQ(system, 5);  // systemd, kthreadd, containerd, kubelet, conmon
  EXPECT_EQ(scan->processes.size(), 11u);
}

}  // namespace
}  // namespace wattson::integration
