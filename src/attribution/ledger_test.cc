#include "attribution/ledger.h"

#include <atomic>
#include <thread>

#include "attribution/attributor.h"
#include "gtest/gtest.h"

namespace wattson::attribution {
namespace {

WorkloadUsage Proc(std::int64_t pid, double cpu, std::string container = "", std::string pod = "",
                   std::string vm = "") {
  WorkloadUsage u;
  u.key.pid = pid;
  u.key.start_time = 77;
  u.key.container_id = container;
  u.key.container_name = container.empty() ? "" : "name-" + container;
  if (!pod.empty()) {
    u.key.pod_uid = "uid-" + pod;
    u.key.pod_name = pod;
    u.key.pod_namespace = "ns";
  }
  u.key.vm_id = std::move(vm);
  u.key.command = "cmd";
  u.cpu_time = Seconds(cpu);
  return u;
}

TickInput Tick(double dt, double package_joules, std::vector<WorkloadUsage> w) {
  TickInput in;
  in.dt = Seconds(dt);
  ZoneEnergy z;
  z.id = {"package", "0"};
  z.energy = Joules(package_joules);
  z.model_idle = Watts(0.0);
  z.source = "rapl-sysfs";
  in.zones = {z};
  in.workloads = std::move(w);
  return in;
}

double Dyn(const SeriesEnergy& s, const std::string& zone) {
  for (const ZoneJoules& z : s.energy) {
    if (z.zone == zone) return z.dynamic.value();
  }
  return -1.0;
}

const ProcessSeries* FindProc(const LedgerSnapshot& s, std::int64_t pid) {
  for (const ProcessSeries& p : s.processes) {
    if (p.key.pid == pid) return &p;
  }
  return nullptr;
}

TEST(EnergyLedgerTest, AggregatesProcessContainerPodVm) {
  Attributor a;
  EnergyLedger ledger;
  auto r = a.Tick(Tick(2.0, 100.0,
                       {Proc(1, 1.0, "c1", "p1"), Proc(2, 1.0, "c1", "p1"),
                        Proc(3, 2.0, "c2", "p1"), Proc(4, 4.0, "", "", "vm-a"), Proc(5, 0.0)}));
  ASSERT_TRUE(r.ok());
  ledger.Apply(*r);
  auto s = ledger.Snapshot();
  EXPECT_EQ(s->ticks, 1u);
  ASSERT_EQ(s->processes.size(), 4u);  // pid 5 got no energy: not tracked
  EXPECT_DOUBLE_EQ(Dyn(*FindProc(*s, 1), "package"), 12.5);
  EXPECT_DOUBLE_EQ(FindProc(*s, 4)->power.value(), 25.0);
  ASSERT_EQ(s->containers.size(), 3u);
  EXPECT_EQ(s->containers[0].container_id, "c1");
  EXPECT_EQ(s->containers[0].container_name, "name-c1");
  EXPECT_EQ(s->containers[0].pod_name, "p1");
  EXPECT_DOUBLE_EQ(Dyn(s->containers[0], "package"), 25.0);
  EXPECT_EQ(s->containers[2].container_id, "system_processes");
  EXPECT_EQ(s->containers[2].pod_namespace, "system");
  EXPECT_DOUBLE_EQ(Dyn(s->containers[2], "package"), 50.0);
  ASSERT_EQ(s->pods.size(), 1u);
  EXPECT_DOUBLE_EQ(Dyn(s->pods[0], "package"), 50.0);
  EXPECT_DOUBLE_EQ(s->pods[0].power.value(), 25.0);
  ASSERT_EQ(s->vms.size(), 1u);
  EXPECT_EQ(s->vms[0].vm_id, "vm-a");
  EXPECT_DOUBLE_EQ(Dyn(s->vms[0], "package"), 50.0);
  ASSERT_EQ(s->node.size(), 1u);
  EXPECT_DOUBLE_EQ(s->node[0].dynamic.value(), 100.0);
  EXPECT_DOUBLE_EQ(s->node[0].dynamic_power.value(), 50.0);
  EXPECT_EQ(s->node[0].idle_method, IdleMethod::kModel);
}

TEST(EnergyLedgerTest, RetentionKeepsEndedWorkloadsForABoundedTime) {
  LedgerOptions opt;
  opt.retention = Seconds(10.0);
  Attributor a;
  EnergyLedger ledger(opt);
  ledger.Apply(*a.Tick(Tick(3.0, 30.0, {Proc(1, 1.0, "c1"), Proc(2, 1.0, "c2")})));
  // pid 2 and its container end.
  for (int i = 0; i < 3; ++i) ledger.Apply(*a.Tick(Tick(3.0, 30.0, {Proc(1, 1.0, "c1")})));
  auto s = ledger.Snapshot();  // 9 s since pid 2 was last seen
  ASSERT_NE(FindProc(*s, 2), nullptr);
  EXPECT_FALSE(FindProc(*s, 2)->active);
  EXPECT_DOUBLE_EQ(FindProc(*s, 2)->power.value(), 0.0);
  EXPECT_DOUBLE_EQ(Dyn(*FindProc(*s, 2), "package"), 15.0);  // final counter kept
  ledger.Apply(*a.Tick(Tick(3.0, 30.0, {Proc(1, 1.0, "c1")})));
  s = ledger.Snapshot();  // 12 s: gone
  EXPECT_EQ(FindProc(*s, 2), nullptr);
  ASSERT_EQ(s->containers.size(), 1u);
  EXPECT_EQ(s->containers[0].container_id, "c1");
  EXPECT_DOUBLE_EQ(Dyn(s->containers[0], "package"), 15.0 + 4 * 30.0);
}

TEST(EnergyLedgerTest, OverflowFoldsExtraWorkloadsAndConserves) {
  LedgerOptions opt;
  opt.max_processes = 2;
  opt.max_containers = 1;
  Attributor a;
  EnergyLedger ledger(opt);
  ledger.Apply(*a.Tick(
      Tick(1.0, 40.0,
           {Proc(1, 1.0, "c1"), Proc(2, 1.0, "c2"), Proc(3, 1.0, "c3"), Proc(4, 1.0, "c1")})));
  auto s = ledger.Snapshot();
  ASSERT_EQ(s->processes.size(), 3u);
  EXPECT_TRUE(s->processes[0].overflow);
  EXPECT_EQ(s->processes[0].key.pid, kOverflowPid);
  EXPECT_DOUBLE_EQ(Dyn(s->processes[0], "package"), 20.0);
  EXPECT_EQ(s->overflow_processes, 2u);
  double sum = 0.0;
  for (const auto& p : s->processes) sum += Dyn(p, "package");
  EXPECT_DOUBLE_EQ(sum, 40.0);
  ASSERT_EQ(s->containers.size(), 2u);
  EXPECT_EQ(s->containers[0].container_id, "c1");
  EXPECT_DOUBLE_EQ(Dyn(s->containers[0], "package"), 20.0);  // pids 1 and 4
  EXPECT_TRUE(s->containers[1].overflow);
  EXPECT_EQ(s->containers[1].container_id, kOverflowName);
  EXPECT_DOUBLE_EQ(Dyn(s->containers[1], "package"), 20.0);
}

TEST(EnergyLedgerTest, CountersAreMonotonicAndSnapshotIsShared) {
  Attributor a;
  EnergyLedger ledger;
  std::shared_ptr<const LedgerSnapshot> prev;
  for (int i = 0; i < 20; ++i) {
    ledger.Apply(*a.Tick(Tick(1.0, 10.0 + i, {Proc(1, 1.0 + i % 3, "c1"), Proc(2, 1.0, "c1")})));
    auto s = ledger.Snapshot();
    EXPECT_EQ(s.get(), ledger.Snapshot().get());  // cached until the next tick
    if (prev) {
      EXPECT_GE(Dyn(s->containers[0], "package"), Dyn(prev->containers[0], "package"));
      EXPECT_GE(Dyn(s->processes[0], "package"), Dyn(prev->processes[0], "package"));
    }
    prev = s;
  }
}

TEST(EnergyLedgerTest, ConcurrentReadersSeeConsistentSnapshots) {
  Attributor a;
  EnergyLedger ledger;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto s = ledger.Snapshot();
      double procs = 0.0;
      for (const auto& p : s->processes) procs += Dyn(p, "package");
      const double node = s->node.empty() ? 0.0 : s->node[0].dynamic.value();
      if (std::abs(procs - node) > 1e-6 * (1.0 + node)) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 500; ++i) {
    ledger.Apply(*a.Tick(Tick(1.0, 5.0, {Proc(i % 7, 1.0), Proc(100, 2.0, "c")})));
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace wattson::attribution
