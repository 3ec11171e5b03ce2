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

// The agent leaves processes that used no CPU out of attribution and passes them as idle keys:
// the ledger must end up exactly as with zero-usage rows in the result (kept alive, nothing
// created, retention from the last tick they were seen).
TEST(EnergyLedgerTest, IdleKeysKeepSeriesAliveLikeZeroUsageRows) {
  LedgerOptions opt;
  opt.retention = Seconds(10.0);
  Attributor with_rows_attributor, with_keys_attributor;
  EnergyLedger with_rows(opt), with_keys(opt);
  // pid 1 (c1, pod a) runs once, then idles; pid 2 (c2, pod b, vm-1) runs throughout; pid 3
  // (c3) never runs; pid 4 (host) runs once, then idles, then ends.
  const auto one = [](std::int64_t pid, double cpu) {
    switch (pid) {
      case 1:
        return Proc(1, cpu, "c1", "a");
      case 2:
        return Proc(2, cpu, "c2", "b", "vm-1");
      case 3:
        return Proc(3, cpu, "c3");
      default:
        return Proc(4, cpu);
    }
  };
  for (int t = 0; t < 8; ++t) {
    std::vector<std::pair<std::int64_t, double>> alive = {{1, t == 0 ? 1.0 : 0.0}, {2, 0.5}};
    alive.push_back({3, 0.0});
    if (t < 2) alive.push_back({4, t == 0 ? 2.0 : 0.0});
    std::vector<WorkloadUsage> rows, active;
    std::vector<WorkloadKey> idle_keys;
    for (auto [pid, cpu] : alive) {
      rows.push_back(one(pid, cpu));
      if (cpu > 0) {
        active.push_back(one(pid, cpu));
      } else {
        idle_keys.push_back(one(pid, 0.0).key);
      }
    }
    std::vector<const WorkloadKey*> idle;
    for (const auto& k : idle_keys) idle.push_back(&k);
    with_rows.Apply(*with_rows_attributor.Tick(Tick(3.0, 30.0, rows)));
    with_keys.Apply(*with_keys_attributor.Tick(Tick(3.0, 30.0, active)), idle);

    const auto a = with_rows.Snapshot();
    const auto b = with_keys.Snapshot();
    SCOPED_TRACE(t);
    ASSERT_EQ(a->processes.size(), b->processes.size());
    for (std::size_t i = 0; i < a->processes.size(); ++i) {
      EXPECT_EQ(a->processes[i].key.pid, b->processes[i].key.pid);
      EXPECT_EQ(a->processes[i].active, b->processes[i].active);
      EXPECT_DOUBLE_EQ(Dyn(a->processes[i], "package"), Dyn(b->processes[i], "package"));
      EXPECT_DOUBLE_EQ(a->processes[i].power.value(), b->processes[i].power.value());
    }
    ASSERT_EQ(a->containers.size(), b->containers.size());
    for (std::size_t i = 0; i < a->containers.size(); ++i) {
      EXPECT_EQ(a->containers[i].container_id, b->containers[i].container_id);
      EXPECT_EQ(a->containers[i].active, b->containers[i].active);
      EXPECT_DOUBLE_EQ(Dyn(a->containers[i], "package"), Dyn(b->containers[i], "package"));
    }
    ASSERT_EQ(a->pods.size(), b->pods.size());
    for (std::size_t i = 0; i < a->pods.size(); ++i) {
      EXPECT_EQ(a->pods[i].active, b->pods[i].active);
      EXPECT_DOUBLE_EQ(Dyn(a->pods[i], "package"), Dyn(b->pods[i], "package"));
    }
    ASSERT_EQ(a->vms.size(), b->vms.size());
    EXPECT_DOUBLE_EQ(a->node.front().dynamic.value(), b->node.front().dynamic.value());
    // pid 3 never used anything: no series at all; pid 1 is kept although idle since tick 1.
    EXPECT_EQ(FindProc(*b, 3), nullptr);
    EXPECT_NE(FindProc(*b, 1), nullptr);
    // pid 4 ended after tick 1: still listed until the retention of 10 s has passed.
    EXPECT_EQ(FindProc(*b, 4) != nullptr, t < 5);
  }
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
