// Randomised invariant tests (seeded, reproducible): many ticks over up to 1 000 processes with
// churn, with and without counters, zero-usage ticks, tiny and huge Δt. Every tick:
//   per zone: Σ workloads + unattributed == dynamic, Σ apportioned idle + unapportioned == idle,
//             idle + dynamic == total; every value finite and >= 0;
//   ledger:   every counter is monotonic; ended workloads stay for `retention`, then go;
//             with no expiry, Σ series + unattributed == node dynamic per level (overflow
//             included).
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "attribution/attributor.h"
#include "attribution/ledger.h"
#include "attribution/split.h"
#include "gtest/gtest.h"

namespace wattson::attribution {
namespace {

struct Scenario {
  std::uint32_t seed;
  int ticks;
  int processes;
  double counter_probability;  // per workload; 1 = every workload has counters
  IdleApportioning apportioning;
  LedgerOptions ledger;
  bool check_cumulative;  // no expiry: cumulative conservation per level
};

bool Near(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max({std::abs(a), std::abs(b), 1e-300});
}

bool Valid(double v) { return std::isfinite(v) && v >= 0.0; }

class World {
 public:
  explicit World(const Scenario& s) : s_(s), rng_(s.seed) {
    for (int i = 0; i < s.processes; ++i) Spawn();
  }

  TickInput Next() {
    // Churn: ~3 % of processes end, as many start.
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    std::vector<WorkloadKey> kept;
    for (const WorkloadKey& k : alive_) {
      if (u01(rng_) < 0.03) {
        ended_.push_back(k);
      } else {
        kept.push_back(k);
      }
    }
    alive_ = std::move(kept);
    while (static_cast<int>(alive_.size()) < s_.processes) Spawn();

    TickInput in;
    // Δt: log-uniform over 1 µs .. 1e6 s, mostly around the 3 s default.
    const double r = u01(rng_);
    in.dt = Seconds(r < 0.1   ? std::pow(10.0, -6.0 + 5.0 * u01(rng_))
                    : r < 0.2 ? std::pow(10.0, 3.0 + 3.0 * u01(rng_))
                              : 1.0 + 4.0 * u01(rng_));
    const double dt = in.dt.value();
    const bool quiet = u01(rng_) < 0.1;  // a tick where nobody ran
    for (const WorkloadKey& k : alive_) {
      WorkloadUsage w;
      w.key = k;
      const bool busy = !quiet && u01(rng_) < 0.6;
      w.cpu_time = Seconds(busy ? dt * u01(rng_) * 0.5 : 0.0);
      if (u01(rng_) < s_.counter_probability) {
        w.instructions = busy ? 1e9 * dt * u01(rng_) : 0.0;
        w.cache_misses = busy ? 1e6 * dt * u01(rng_) : 0.0;
      }
      if (busy && u01(rng_) < 0.05) w.gpu_usage = 100.0 * dt * u01(rng_);
      in.workloads.push_back(std::move(w));
    }
    auto zone = [&](std::string name, std::string key, double watts, bool model) {
      ZoneEnergy z;
      z.id = {std::move(name), std::move(key)};
      const double w = u01(rng_) < 0.05 ? 0.0 : watts * (0.5 + u01(rng_));
      z.energy = Joules(w * dt);
      if (model) {
        z.origin = ZoneOrigin::kEstimated;
        z.model_id = "m";
        z.model_idle = Watts(watts * 0.4 * (0.5 + u01(rng_)));  // sometimes above total
      }
      in.zones.push_back(std::move(z));
    };
    zone("package", "0", 80.0, false);
    zone("package", "1", 70.0, false);
    zone("core", "0", 40.0, false);
    zone("uncore", "0", 5.0, false);
    zone("dram", "0", 12.0, false);
    zone("dram", "1", 10.0, false);
    zone("gpu", "0", 150.0, false);
    zone("platform", "energy1", 400.0, true);
    if (u01(rng_) < 0.5) in.node_cpu_utilization = u01(rng_);
    return in;
  }

  const std::vector<WorkloadKey>& ended() const { return ended_; }

 private:
  void Spawn() {
    std::uniform_int_distribution<int> container(0, 120);
    std::uniform_int_distribution<int> vm(0, 30);
    WorkloadKey k;
    k.pid = next_pid_++;
    k.start_time = static_cast<std::uint64_t>(k.pid) * 13;
    const int c = container(rng_);
    if (c < 100) {
      k.container_id = "ctr" + std::to_string(c);
      k.container_name = "name" + std::to_string(c);
      if (c < 80) {
        k.pod_uid = "uid" + std::to_string(c / 2);
        k.pod_name = "pod" + std::to_string(c / 2);
        k.pod_namespace = "ns" + std::to_string(c % 5);
      }
    } else if (vm(rng_) < 10) {
      k.vm_id = "vm" + std::to_string(c);
    }
    k.command = "cmd";
    alive_.push_back(std::move(k));
  }

  Scenario s_;
  std::mt19937_64 rng_;
  std::int64_t next_pid_ = 100;
  std::vector<WorkloadKey> alive_;
  std::vector<WorkloadKey> ended_;
};

using ProcId = std::pair<std::int64_t, std::uint64_t>;

void CheckTick(const TickInput& in, const TickResult& r) {
  const std::size_t n = in.workloads.size();
  const std::size_t nz = r.zones.size();
  ASSERT_EQ(r.dynamic.size(), n * nz);
  ASSERT_EQ(r.idle.size(), n * nz);
  for (std::size_t z = 0; z < nz; ++z) {
    const ZoneSplit& s = r.zones[z];
    ASSERT_TRUE(Valid(s.total.value()) && Valid(s.idle.value()) && Valid(s.dynamic.value()));
    ASSERT_TRUE(Valid(s.unattributed_dynamic.value()) && Valid(s.unapportioned_idle.value()));
    ASSERT_LE(s.idle.value(), s.total.value());
    ASSERT_TRUE(Near(s.idle.value() + s.dynamic.value(), s.total.value(), 1e-12))
        << s.id.zone << " dt=" << r.dt.value();
    std::vector<double> dyn{s.unattributed_dynamic.value()};
    std::vector<double> idle{s.unapportioned_idle.value()};
    for (std::size_t w = 0; w < n; ++w) {
      const double d = r.DynamicOf(w, z).value();
      const double i = r.IdleOf(w, z).value();
      ASSERT_TRUE(Valid(d) && Valid(i));
      dyn.push_back(d);
      idle.push_back(i);
    }
    ASSERT_TRUE(Near(CompensatedSum(dyn), s.dynamic.value(), 1e-9) || s.dynamic.value() == 0.0)
        << s.id.zone << "/" << s.id.key << " Σ=" << CompensatedSum(dyn)
        << " node=" << s.dynamic.value() << " dt=" << r.dt.value();
    ASSERT_TRUE(Near(CompensatedSum(idle), s.idle.value(), 1e-9) || s.idle.value() == 0.0);
    if (s.dynamic.value() == 0.0) {
      ASSERT_EQ(CompensatedSum(dyn), 0.0);
    }
  }
}

void RunScenario(const Scenario& sc) {
  SCOPED_TRACE("seed " + std::to_string(sc.seed));
  AttributorOptions aopt;
  aopt.idle_apportioning = sc.apportioning;
  aopt.cpu_count = 16.0;
  Attributor attributor(aopt);
  EnergyLedger ledger(sc.ledger);
  World world(sc);
  std::map<ProcId, std::vector<ZoneJoules>> prev_proc;
  std::map<std::string, std::vector<ZoneJoules>> prev_ctr;
  std::map<ProcId, double> last_seen;  // ledger time a tracked process was last in a tick
  double now = 0.0;
  for (int t = 0; t < sc.ticks; ++t) {
    const TickInput in = world.Next();
    auto r = attributor.Tick(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_NO_FATAL_FAILURE(CheckTick(in, *r));
    ledger.Apply(*r);
    now += in.dt.value();
    auto snap = ledger.Snapshot();

    // Monotonic counters, finite and >= 0.
    std::set<ProcId> present;
    for (const ProcessSeries& p : snap->processes) {
      const ProcId id{p.key.pid, p.key.start_time};
      present.insert(id);
      for (const ZoneJoules& z : p.energy) {
        ASSERT_TRUE(Valid(z.dynamic.value()) && Valid(z.idle.value()));
      }
      if (p.active) last_seen[id] = now;
      auto it = prev_proc.find(id);
      if (it != prev_proc.end()) {
        for (std::size_t z = 0; z < it->second.size(); ++z) {
          ASSERT_EQ(it->second[z].zone, p.energy[z].zone);
          ASSERT_GE(p.energy[z].dynamic.value(), it->second[z].dynamic.value());
          ASSERT_GE(p.energy[z].idle.value(), it->second[z].idle.value());
        }
      }
    }
    for (const ContainerSeries& c : snap->containers) {
      auto it = prev_ctr.find(c.container_id);
      if (it == prev_ctr.end()) continue;
      for (std::size_t z = 0; z < it->second.size(); ++z) {
        ASSERT_GE(c.energy[z].dynamic.value(), it->second[z].dynamic.value());
      }
    }
    // Retention: a process seen within `retention` is still there; older ones are gone.
    for (const auto& [id, seen] : last_seen) {
      const bool should_exist = now - seen <= sc.ledger.retention.value();
      ASSERT_EQ(present.count(id) == 1, should_exist)
          << "pid " << id.first << " last seen " << now - seen << " s ago";
    }
    std::erase_if(last_seen, [&](const auto& kv) { return !present.count(kv.first); });
    ASSERT_LE(snap->processes.size(), sc.ledger.max_processes + 1);
    ASSERT_LE(snap->containers.size(), sc.ledger.max_containers + 1);

    if (sc.check_cumulative) {
      // Per zone name: Σ processes + unattributed == node, and the same for containers.
      std::map<std::string, double> node, unattributed, procs, ctrs;
      for (const NodeZoneSeries& z : snap->node) {
        node[z.id.zone] += z.dynamic.value();
        unattributed[z.id.zone] += z.unattributed_dynamic.value();
      }
      for (const ProcessSeries& p : snap->processes) {
        for (const ZoneJoules& z : p.energy) procs[z.zone] += z.dynamic.value();
      }
      for (const ContainerSeries& c : snap->containers) {
        for (const ZoneJoules& z : c.energy) ctrs[z.zone] += z.dynamic.value();
      }
      for (const auto& [zone, total] : node) {
        ASSERT_TRUE(Near(procs[zone] + unattributed[zone], total, 1e-9)) << zone;
        ASSERT_TRUE(Near(ctrs[zone] + unattributed[zone], total, 1e-9)) << zone;
      }
    }
    prev_proc.clear();
    for (const ProcessSeries& p : snap->processes) {
      prev_proc[{p.key.pid, p.key.start_time}] = p.energy;
    }
    prev_ctr.clear();
    for (const ContainerSeries& c : snap->containers) prev_ctr[c.container_id] = c.energy;
  }
}

LedgerOptions Ledger(double retention, std::size_t max_processes, std::size_t max_containers) {
  LedgerOptions o;
  o.retention = Seconds(retention);
  o.max_processes = max_processes;
  o.max_containers = max_containers;
  return o;
}

TEST(AttributionInvariantsTest, ThousandProcessesWithChurnNoCounters) {
  RunScenario({1, 60, 1000, 0.0, IdleApportioning::kNone, Ledger(300.0, 10000, 10000), false});
}

TEST(AttributionInvariantsTest, ThousandProcessesWithCounters) {
  RunScenario(
      {2, 60, 1000, 1.0, IdleApportioning::kCpuTimeShare, Ledger(300.0, 10000, 10000), false});
}

TEST(AttributionInvariantsTest, MixedCountersEvenContainerIdle) {
  RunScenario({3, 80, 300, 0.7, IdleApportioning::kEvenActiveContainers, Ledger(20.0, 10000, 10000),
               false});
}

TEST(AttributionInvariantsTest, CumulativeConservationWithOverflow) {
  RunScenario({4, 80, 400, 0.5, IdleApportioning::kCpuTimeShare, Ledger(1e12, 150, 40), true});
}

TEST(AttributionInvariantsTest, ManySeeds) {
  for (std::uint32_t seed = 10; seed < 20; ++seed) {
    RunScenario({seed, 40, 50 + 20 * static_cast<int>(seed), (seed % 3) / 2.0,
                 static_cast<IdleApportioning>(seed % 3), Ledger(60.0 * (seed % 4), 200, 50),
                 false});
  }
}

}  // namespace
}  // namespace wattson::attribution
