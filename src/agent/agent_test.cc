// End-to-end ticks of the agent on fake hosts (FakeHost, testdata/hosts/ trees), driven directly
// with a FakeClock. Every tick of every scenario checks the invariants: per zone,
// Σ workloads + unattributed = node dynamic and Σ apportioned idle + unapportioned = node idle
// (relative 1e-9); every value finite and >= 0; ledger counters never decrease.
#include "agent/agent.h"

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "agent/config.h"
#include "agent/fake_host.h"
#include "agent/setup.h"
#include "export/prometheus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wattson::agent {
namespace {

using testing::FakeHost;
using ::testing::HasSubstr;

const std::string kHosts = std::string(WATTSON_TESTDATA_DIR) + "/hosts";

constexpr const char* kCgroupContainerd =
    "0::/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod6b1c7b2e_3f1d_4c57_9a8e_0d2b6f4a1c11.slice/"
    "cri-containerd-663443e2c8b7f7f11feaab150f17d517d2091feaa21462d614a95e71bab5cb4c.scope\n";

bool Finite(double v) { return std::isfinite(v) && v >= 0; }

// Checks one tick's result and the ledger's growth since prev.
void CheckInvariants(const TickReport& r, const attribution::LedgerSnapshot* prev,
                     const attribution::LedgerSnapshot& cur) {
  if (r.attributed) {
    const auto& res = r.result;
    const std::size_t nz = res.zones.size();
    ASSERT_EQ(res.dynamic.size(), res.workloads.size() * nz);
    ASSERT_EQ(res.idle.size(), res.workloads.size() * nz);
    for (std::size_t z = 0; z < nz; ++z) {
      const auto& zone = res.zones[z];
      SCOPED_TRACE(zone.id.zone + "/" + zone.id.key);
      EXPECT_TRUE(Finite(zone.total.value()));
      EXPECT_TRUE(Finite(zone.idle.value()));
      EXPECT_TRUE(Finite(zone.dynamic.value()));
      EXPECT_TRUE(Finite(zone.unattributed_dynamic.value()));
      EXPECT_TRUE(Finite(zone.unapportioned_idle.value()));
      EXPECT_NEAR(zone.idle.value() + zone.dynamic.value(), zone.total.value(),
                  1e-9 * std::max(1.0, zone.total.value()));
      double dyn = zone.unattributed_dynamic.value(), idle = zone.unapportioned_idle.value();
      for (std::size_t w = 0; w < res.workloads.size(); ++w) {
        const double d = res.DynamicOf(w, z).value(), i = res.IdleOf(w, z).value();
        ASSERT_TRUE(Finite(d)) << d;
        ASSERT_TRUE(Finite(i)) << i;
        dyn += d;
        idle += i;
      }
      EXPECT_NEAR(dyn, zone.dynamic.value(), 1e-9 * std::max(1e-12, zone.dynamic.value()));
      EXPECT_NEAR(idle, zone.idle.value(), 1e-9 * std::max(1e-12, zone.idle.value()));
    }
  }
  for (const auto& n : cur.node) {
    EXPECT_TRUE(Finite(n.dynamic.value()) && Finite(n.idle.value())) << n.id.zone;
    EXPECT_TRUE(Finite(n.dynamic_power.value()) && Finite(n.idle_power.value())) << n.id.zone;
  }
  if (prev == nullptr) return;
  EXPECT_GE(cur.ticks, prev->ticks);
  for (const auto& p : prev->node) {
    for (const auto& c : cur.node) {
      if (c.id != p.id) continue;
      EXPECT_GE(c.dynamic.value(), p.dynamic.value()) << c.id.zone;
      EXPECT_GE(c.idle.value(), p.idle.value()) << c.id.zone;
      EXPECT_GE(c.unattributed_dynamic.value(), p.unattributed_dynamic.value());
    }
  }
  auto energies = [](const attribution::SeriesEnergy& s) {
    std::map<std::string, std::pair<double, double>> m;
    for (const auto& z : s.energy) m[z.zone] = {z.dynamic.value(), z.idle.value()};
    return m;
  };
  auto check_level = [&](const auto& before, const auto& after, auto id_of) {
    std::map<std::string, const attribution::SeriesEnergy*> old;
    for (const auto& s : before) old[id_of(s)] = &s;
    for (const auto& s : after) {
      for (const auto& z : s.energy) {
        EXPECT_TRUE(Finite(z.dynamic.value()) && Finite(z.idle.value()));
      }
      auto it = old.find(id_of(s));
      if (it == old.end()) continue;
      const auto was = energies(*it->second);
      for (const auto& [zone, v] : energies(s)) {
        auto w = was.find(zone);
        if (w == was.end()) continue;
        EXPECT_GE(v.first, w->second.first) << id_of(s) << " " << zone;
        EXPECT_GE(v.second, w->second.second) << id_of(s) << " " << zone;
      }
    }
  };
  check_level(prev->containers, cur.containers,
              [](const attribution::ContainerSeries& s) { return s.container_id; });
  check_level(prev->pods, cur.pods, [](const attribution::PodSeries& s) { return s.pod_uid; });
  check_level(prev->vms, cur.vms, [](const attribution::VmSeries& s) { return s.vm_id; });
  check_level(prev->processes, cur.processes, [](const attribution::ProcessSeries& s) {
    return std::to_string(s.key.pid) + "@" + std::to_string(s.key.start_time);
  });
}

// An agent on a fake host, ticked by hand.
class AgentHarness {
 public:
  explicit AgentHarness(int cpus = 4) : host(cpus), state(host.clock) {}

  void Build(AgentConfig config, const HostFs* fs = nullptr) {
    auto built = BuildAgent(config, fs != nullptr ? *fs : host.fs, host.clock, nullptr, state,
                            /*real_host=*/false);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    agent = std::move(built->agent);
  }

  TickReport Tick(double dt) {
    host.Advance(dt);
    TickReport r = agent->Tick();
    auto snap = agent->ledger().Snapshot();
    CheckInvariants(r, prev.get(), *snap);
    prev = snap;
    ++ticks;
    return r;
  }

  const attribution::ZoneSplit* Zone(const TickReport& r, const std::string& zone,
                                     const std::string& key) {
    for (const auto& z : r.result.zones) {
      if (z.id.zone == zone && z.id.key == key) return &z;
    }
    return nullptr;
  }

  FakeHost host;
  exporter::ExportState state;
  std::unique_ptr<Agent> agent;
  std::shared_ptr<const attribution::LedgerSnapshot> prev;
  int ticks = 0;
};

AgentConfig Config(std::vector<std::string> meters) {
  AgentConfig c;
  c.meters = std::move(meters);
  c.node_name = "test-node";
  return c;
}

// Advances every RAPL counter of the rapl-2socket tree (both sysfs views of each sub-zone).
void AddRapl(FakeHost& h, int socket, int sub, std::uint64_t uj) {
  const std::string base = "/sys/class/powercap/";
  const std::uint64_t range = sub == 2 ? 65712999613ull : 262143328850ull;
  if (sub < 0) {
    h.AddEnergyUj(fmt::format("{}intel-rapl:{}/energy_uj", base, socket), uj, range);
    return;
  }
  h.AddEnergyUj(
      fmt::format("{}intel-rapl:{}/intel-rapl:{}:{}/energy_uj", base, socket, socket, sub), uj,
      range);
  h.AddEnergyUj(fmt::format("{}intel-rapl:{}:{}/energy_uj", base, socket, sub), uj, range);
}

// Makes the tree's processes run `each` clock ticks (10 ms) apiece; returns the total.
std::uint64_t RunContainers(FakeHost& h, std::uint64_t each = 20) {
  std::uint64_t total = 0;
  for (int pid : {1180, 1201, 1302, 1410, 1520, 1630, 1740, 2001, 812}) {
    h.RunProcess(pid, each);
    total += each;
  }
  h.RunProcess(15, 3);  // a kernel thread
  return total + 3;
}

TEST(AgentTest, RaplTwoSocketsAndDram) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/rapl-2socket");
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  AgentConfig c = Config({"rapl"});
  c.estimate_platform = false;
  a.Build(c);
  EXPECT_EQ(a.agent->coverage().at("package"), "rapl-sysfs");
  EXPECT_EQ(a.agent->coverage().at("dram"), "rapl-sysfs");
  EXPECT_TRUE(a.Tick(1.0).baseline);
  for (int t = 0; t < 25; ++t) {
    const std::uint64_t load = static_cast<std::uint64_t>(t % 5);  // power follows the load
    RunContainers(a.host, 8 * load);
    for (int s = 0; s < 2; ++s) {
      AddRapl(a.host, s, -1, (60 + 10 * s + 5 * load) * 1'000'000ull);  // 60 W, 70 W idle
      AddRapl(a.host, s, 0, 40'000'000);
      AddRapl(a.host, s, 1, 5'000'000);
      AddRapl(a.host, s, 2, 12'000'000);  // dram 12 W
    }
    TickReport r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed);
    for (int s = 0; s < 2; ++s) {
      const std::string key = std::to_string(s);
      const auto* pkg = a.Zone(r, "package", key);
      const auto* dram = a.Zone(r, "dram", key);
      ASSERT_NE(pkg, nullptr);
      ASSERT_NE(dram, nullptr);
      EXPECT_NEAR(pkg->total.value(), 60.0 + 10 * s + 5.0 * static_cast<double>(load), 1e-6);
      EXPECT_NEAR(dram->total.value(), 12.0, 1e-6);
      EXPECT_EQ(pkg->origin, attribution::ZoneOrigin::kMeasured);
      EXPECT_EQ(pkg->source, "rapl-sysfs");
      EXPECT_NE(a.Zone(r, "core", key), nullptr);
      EXPECT_NE(a.Zone(r, "uncore", key), nullptr);
    }
    EXPECT_EQ(a.Zone(r, "platform", "0"), nullptr);  // no platform meter, estimation off
  }
  auto view = a.state.View();
  EXPECT_EQ(view.status->node.components_power_source, "rapl-sysfs");
  EXPECT_TRUE(view.status->models.empty());
  // The containerd container got energy.
  bool found = false;
  for (const auto& cs : view.ledger->containers) {
    if (cs.container_id.rfind("663443e2", 0) == 0) found = cs.TotalDynamic().value() > 0;
  }
  EXPECT_TRUE(found);
}

TEST(AgentTest, RaplWrapKeepsEnergy) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/rapl-2socket");
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  a.host.fs.SetFile("/sys/class/powercap/intel-rapl:0/energy_uj", "262143000000\n");
  AgentConfig c = Config({"rapl"});
  c.estimate_platform = false;
  a.Build(c);
  a.Tick(1.0);
  double total = 0;
  for (int t = 0; t < 6; ++t) {
    RunContainers(a.host);
    AddRapl(a.host, 0, -1, 100'000'000);  // 100 J per tick: wraps on the first
    TickReport r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed);
    const auto* pkg = a.Zone(r, "package", "0");
    ASSERT_NE(pkg, nullptr);
    EXPECT_NEAR(pkg->total.value(), 100.0, 1e-3) << "tick " << t;
    total += pkg->total.value();
  }
  EXPECT_NEAR(total, 600.0, 1e-2);
}

TEST(AgentTest, NoRaplUsesTheEmbeddedModel) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  a.Build(Config({}));
  EXPECT_THAT(a.agent->coverage().at("package"), HasSubstr("model wattson-default/"));
  EXPECT_THAT(a.agent->coverage().at("platform"), HasSubstr("model wattson-default/"));
  a.Tick(3.0);
  for (int t = 0; t < 5; ++t) {
    RunContainers(a.host, 100);  // 3.3 CPUs busy
    TickReport r = a.Tick(3.0);
    ASSERT_TRUE(r.attributed);
    const auto* pkg = a.Zone(r, "package", "0");
    const auto* plat = a.Zone(r, "platform", "0");
    ASSERT_NE(pkg, nullptr);
    ASSERT_NE(plat, nullptr);
    EXPECT_EQ(pkg->origin, attribution::ZoneOrigin::kEstimated);
    EXPECT_THAT(pkg->model_id, HasSubstr("wattson-default/"));
    EXPECT_EQ(pkg->idle_method, attribution::IdleMethod::kModel);
    EXPECT_GT(pkg->total.value(), 0.0);
    EXPECT_GT(plat->total.value(), pkg->total.value());
    EXPECT_GT(pkg->dynamic.value(), 0.0);  // processes ran
  }
  auto view = a.state.View();
  ASSERT_EQ(view.status->models.size(), 2u);
  EXPECT_EQ(view.status->node.components_power_source, "trained_power_model");
  const std::string text = exporter::RenderPrometheus(*view.ledger, *view.status, {});
  EXPECT_THAT(text, HasSubstr("origin=\"estimated\""));
  EXPECT_THAT(text, HasSubstr("model_id=\"wattson-default/"));
  EXPECT_THAT(text, HasSubstr("kepler_node_info"));
}

TEST(AgentTest, IdleHostHasOnlyIdlePower) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/procfs-cgroupv1");
  a.Build(Config({}));
  a.Tick(3.0);
  for (int t = 0; t < 3; ++t) {
    TickReport r = a.Tick(3.0);  // nobody runs
    ASSERT_TRUE(r.attributed);
    for (const auto& z : r.result.zones) {
      EXPECT_GT(z.idle.value(), 0.0) << z.id.zone;
      EXPECT_NEAR(z.dynamic.value(), 0.0, 1e-9) << z.id.zone;
    }
  }
}

TEST(AgentTest, HwmonMeterMeasuresPlatform) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/hwmon-acpi");
  a.host.LoadTree(kHosts + "/procfs-cgroupv1");
  a.Build(Config({"rapl", "hwmon"}));
  EXPECT_EQ(a.agent->coverage().at("platform"), "acpi");
  EXPECT_THAT(a.agent->coverage().at("package"), HasSubstr("model "));
  a.Tick(2.0);
  for (int t = 0; t < 5; ++t) {
    RunContainers(a.host);
    TickReport r = a.Tick(2.0);
    ASSERT_TRUE(r.attributed);
    const auto* plat = a.Zone(r, "platform", "energy1");
    ASSERT_NE(plat, nullptr);
    EXPECT_EQ(plat->origin, attribution::ZoneOrigin::kMeasured);
    EXPECT_EQ(plat->source, "acpi");
    EXPECT_NEAR(plat->total.value(), 245.0 * 2.0, 1e-6);
    const auto* pkg = a.Zone(r, "package", "0");
    ASSERT_NE(pkg, nullptr);
    EXPECT_EQ(pkg->origin, attribution::ZoneOrigin::kEstimated);
    EXPECT_NE(a.Zone(r, "other", "0"), nullptr);
  }
  EXPECT_EQ(a.state.View().status->node.platform_power_source, "acpi");
}

// Container, pod and VM identity from the cgroup v1 and v2 trees (containerd, CRI-O, Docker,
// podman, libvirt), with pod names from a PodList file.
class CgroupTreeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CgroupTreeTest, WorkloadsAreIdentified) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/" + GetParam());
  AgentConfig c = Config({});
  c.pod_list_file = kHosts + "/kubelet-pods.json";
  a.Build(c);
  a.Tick(3.0);
  for (int t = 0; t < 4; ++t) {
    RunContainers(a.host, 60);
    ASSERT_TRUE(a.Tick(3.0).attributed);
  }
  auto view = a.state.View();
  std::map<std::string, const attribution::ContainerSeries*> by_id;
  for (const auto& cs : view.ledger->containers) by_id[cs.container_id.substr(0, 8)] = &cs;
  for (const char* id : {"663443e2", "8a156894", "b2ad9f82", "a43a9f73", "770dca68"}) {
    ASSERT_EQ(by_id.count(id), 1u) << id;
    EXPECT_GT(by_id[id]->TotalDynamic().value(), 0.0) << id;
  }
  EXPECT_EQ(by_id["663443e2"]->pod_name, "web-7d4b9c8f6-x2k9p");
  EXPECT_EQ(by_id["663443e2"]->pod_namespace, "shop");
  EXPECT_EQ(by_id["b2ad9f82"]->pod_name, "batch-job-q8w2z");
  ASSERT_EQ(by_id.count("system_p"), 1u);  // host processes
  ASSERT_EQ(by_id.count("kernel_p"), 1u);  // kernel threads
  bool vm = false;
  for (const auto& v : view.ledger->vms) vm |= v.vm_id == "qemu-2-web-01";
  EXPECT_TRUE(vm);
  std::set<std::string> pods;
  for (const auto& p : view.ledger->pods) pods.insert(p.pod_name);
  EXPECT_TRUE(pods.count("cache-0"));
}

INSTANTIATE_TEST_SUITE_P(Trees, CgroupTreeTest,
                         ::testing::Values("procfs-cgroupv1", "procfs-cgroupv2"));

TEST(AgentTest, ThousandProcessesWithChurn) {
  AgentHarness a(16);
  a.host.LoadTree(kHosts + "/rapl-2socket");
  std::mt19937 rng(7);
  int next_pid = 1000;
  std::vector<int> live;
  auto cgroup_of = [](int pid) {
    return fmt::format(
        "0::/kubepods.slice/kubepods-pod{:08x}_0000_0000_0000_000000000000.slice/"
        "cri-containerd-{:064x}.scope\n",
        pid % 37, pid % 53);
  };
  for (int i = 0; i < 1000; ++i) {
    a.host.AddProcess(next_pid, fmt::format("worker-{}", i), cgroup_of(next_pid));
    live.push_back(next_pid++);
  }
  a.Build(Config({"rapl"}));
  a.Tick(1.0);
  for (int t = 0; t < 15; ++t) {
    // 5 % of the processes exit, as many start; the rest run a little.
    std::shuffle(live.begin(), live.end(), rng);
    for (int i = 0; i < 50; ++i) {
      a.host.RemoveProcess(live.back());
      live.pop_back();
    }
    for (int i = 0; i < 50; ++i) {
      a.host.AddProcess(next_pid, "new", cgroup_of(next_pid), rng() % 5);
      live.push_back(next_pid++);
    }
    std::uint64_t busy = 0;
    for (int pid : live) {
      if (rng() % 3 != 0) continue;
      const std::uint64_t ticks = rng() % 4;
      a.host.RunProcess(pid, ticks);
      busy += ticks;
    }
    for (int s = 0; s < 2; ++s) {
      AddRapl(a.host, s, -1, 60'000'000 + busy * 50'000);  // power follows the load
      AddRapl(a.host, s, 2, 20'000'000 + busy * 5'000);
    }
    TickReport r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed);
    EXPECT_EQ(r.processes, 1000u);
  }
  // Energy of ended processes is still in the containers: per level totals match the node.
  auto view = a.state.View();
  double node_dyn = 0, containers_dyn = 0;
  for (const auto& n : view.ledger->node) {
    if (attribution::IsTotalZone(n.id.zone)) {
      node_dyn += n.dynamic.value() - n.unattributed_dynamic.value();
    }
  }
  for (const auto& cs : view.ledger->containers) containers_dyn += cs.TotalDynamic().value();
  EXPECT_GT(node_dyn, 0.0);
  EXPECT_NEAR(containers_dyn, node_dyn, 1e-6 * node_dyn);
}

TEST(AgentTest, FailingReadsAreCountedNotFatal) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/rapl-2socket");
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  FaultInjectingHostFs faulty(a.host.fs);
  AgentConfig c = Config({"rapl"});
  c.estimate_platform = false;
  c.error_log_every = 3;
  a.Build(c, &faulty);
  a.Tick(1.0);
  double injected = 0, measured = 0;
  for (int t = 0; t < 12; ++t) {
    RunContainers(a.host);
    AddRapl(a.host, 0, -1, 50'000'000);
    injected += 50.0;
    faulty.ClearFaults();
    if (t == 2 || t == 3) {
      faulty.FailPath("/sys/class/powercap/intel-rapl:0/energy_uj", Status::IoError("EIO"));
    }
    if (t >= 4 && t < 8) faulty.FailPath("/proc/1180/stat", Status::IoError("EIO"));
    if (t == 6) faulty.FailPath("/proc/stat", Status::IoError("EIO"));
    if (t == 8) a.host.RemoveProcess(1520);  // vanished
    if (t == 9) faulty.FailNthRead(3, Status::IoError("EIO"));
    TickReport r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed) << "tick " << t;
    if (t == 2) {
      EXPECT_FALSE(r.errors.empty());
    }
    if (const auto* pkg = a.Zone(r, "package", "0")) measured += pkg->total.value();
  }
  // The energy of the ticks whose read failed is counted by the next good read.
  EXPECT_NEAR(measured, injected, 1e-6);
  EXPECT_GE(a.agent->source_errors().at("rapl-sysfs"), 2u);
  EXPECT_GE(a.agent->source_errors().at("procfs"), 1u);
  auto view = a.state.View();
  EXPECT_GE(view.status->source_errors.at("rapl-sysfs"), 2u);
  EXPECT_TRUE(view.status->unhealthy_reason.empty());
}

TEST(AgentTest, UnreadableProcIsReportedUnhealthy) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  FaultInjectingHostFs faulty(a.host.fs);
  a.Build(Config({}), &faulty);
  a.Tick(1.0);
  faulty.FailPath("/proc", Status::IoError("EIO"));
  TickReport r = a.Tick(1.0);
  EXPECT_FALSE(r.attributed);
  EXPECT_THAT(a.state.View().status->unhealthy_reason, HasSubstr("/proc"));
  faulty.ClearFaults();
  RunContainers(a.host);
  EXPECT_TRUE(a.Tick(1.0).attributed);
  EXPECT_TRUE(a.state.View().status->unhealthy_reason.empty());
}

TEST(AgentTest, NewProcessGetsItsFirstTickCpu) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  a.Build(Config({}));
  a.Tick(1.0);
  a.host.AddProcess(5000, "fresh", kCgroupContainerd, 0);
  a.host.RunProcess(5000, 300);  // 3 CPUs for the second
  TickReport r = a.Tick(1.0);
  ASSERT_TRUE(r.attributed);
  bool got = false;
  for (std::size_t w = 0; w < r.result.workloads.size(); ++w) {
    if (r.result.workloads[w].pid != 5000) continue;
    for (std::size_t z = 0; z < r.result.zones.size(); ++z) {
      got |= r.result.DynamicOf(w, z).value() > 0;
    }
  }
  EXPECT_TRUE(got);
}

TEST(AgentTest, RunStopsAfterMaxTicksAndOnStop) {
  FakeHost host;
  host.LoadTree(kHosts + "/procfs-cgroupv2");
  exporter::ExportState state(host.clock);
  AgentConfig c = Config({});
  c.period = Seconds(0.01);
  c.ticks = 3;
  auto built = BuildAgent(c, host.fs, host.clock, nullptr, state, false);
  ASSERT_TRUE(built.ok());
  built->agent->Run();  // FakeClock does not move: ticks after the baseline fail Δt, counted
  EXPECT_EQ(built->agent->ticks(), 3u);
  c.ticks = 0;
  auto again = BuildAgent(c, host.fs, host.clock, nullptr, state, false);
  ASSERT_TRUE(again.ok());
  again->agent->Stop();
  again->agent->Run();  // returns at once
  EXPECT_EQ(again->agent->ticks(), 0u);
}

TEST(AgentTest, CpuTimeSourceOfAFakeHostIsProcfs) {
  AgentHarness a;
  a.host.LoadTree(kHosts + "/procfs-cgroupv2");
  AgentConfig c = Config({});
  a.Build(c);  // "auto": the tree is not this machine's kernel
  a.Tick(1.0);
  EXPECT_EQ(a.state.View().status->cpu_time_source, "procfs");
  const std::string text =
      exporter::RenderPrometheus(*a.state.View().ledger, *a.state.View().status, {});
  EXPECT_THAT(text, HasSubstr("wattson_cpu_time_source_info{source=\"procfs\"} 1"));
  c.cpu_time_source = "ebpf";
  exporter::ExportState state(a.host.clock);
  auto built = BuildAgent(c, a.host.fs, a.host.clock, nullptr, state, /*real_host=*/false);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(built.status().message(), HasSubstr("host_root is not /"));
}

// The agent on this machine with the eBPF source (skipped where it cannot load): processes come
// from it after the first tick, and the metrics say so.
TEST(AgentTest, EbpfCpuTimeSourceOnThisHost) {
  RootedHostFs fs("/");
  RealClock clock;
  exporter::ExportState state(clock);
  AgentConfig c;
  c.meters = {};
  c.hw_counters = false;
  c.cpu_time_source = "ebpf";
  auto built = BuildAgent(c, fs, clock, nullptr, state, /*real_host=*/true);
  if (!built.ok() && built.status().message().find("cpu_time_source ebpf") == 0) {
    GTEST_SKIP() << built.status().ToString();
  }
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto& agent = *built->agent;
  agent.Tick();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const TickReport r = agent.Tick();
  EXPECT_TRUE(r.attributed) << (r.errors.empty() ? "" : r.errors.front());
  EXPECT_GT(r.processes, 0u);
  EXPECT_EQ(state.View().status->cpu_time_source, "ebpf");
  const std::string text =
      exporter::RenderPrometheus(*state.View().ledger, *state.View().status, {});
  EXPECT_THAT(text, HasSubstr("wattson_cpu_time_source_info{source=\"ebpf\"} 1"));
}

TEST(AgentTest, KeepsProcStatFilesOpenUpToTheConfiguredNumber) {
  for (long long cap : {4096LL, 3LL, 0LL}) {
    SCOPED_TRACE(cap);
    AgentHarness a;
    a.host.LoadTree(kHosts + "/procfs-cgroupv2");
    AgentConfig c = Config({});
    c.proc_open_files = cap;
    a.Build(c);
    const std::size_t before = a.host.fs.open_handles();  // meters, models: none kept
    a.Tick(1.0);
    RunContainers(a.host);
    TickReport r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed);
    const std::size_t procs = r.processes;
    EXPECT_EQ(procs, 13u);
    // Every process's stat (up to the cap), plus /proc/stat and /proc/uptime.
    const std::size_t kept = std::min<std::size_t>(procs, static_cast<std::size_t>(cap));
    EXPECT_EQ(a.host.fs.open_handles(), before + kept + 2);
    // An exited process's file is closed; a new one's opened.
    a.host.RemoveProcess(1520);
    a.host.AddProcess(5000, "fresh", kCgroupContainerd, 0);
    a.host.RunProcess(5000, 300);
    r = a.Tick(1.0);
    ASSERT_TRUE(r.attributed);
    EXPECT_EQ(r.processes, procs);
    EXPECT_EQ(a.host.fs.open_handles(), before + kept + 2);
    bool fresh = false;
    for (std::size_t w = 0; w < r.result.workloads.size(); ++w) {
      if (r.result.workloads[w].pid != 5000) continue;
      for (std::size_t z = 0; z < r.result.zones.size(); ++z) {
        fresh |= r.result.DynamicOf(w, z).value() > 0;
      }
    }
    EXPECT_TRUE(fresh);
  }
}

TEST(AgentTest, CpuArchitecture) {
  FakeHostFs fs;
  EXPECT_EQ(DetectCpuArchitecture(fs, ""), "unknown");
  fs.SetFile("/sys/devices/cpu/caps/pmu_name", "sapphire_rapids\n");
  EXPECT_EQ(DetectCpuArchitecture(fs, ""), "sapphire_rapids");
  EXPECT_EQ(DetectCpuArchitecture(fs, "Sapphire Rapids"), "Sapphire Rapids");
}

}  // namespace
}  // namespace wattson::agent
