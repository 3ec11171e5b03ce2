// Test-only: the small hand-checked scenario behind the golden exposition files (see
// testdata/export/README.md for the arithmetic).
#pragma once

#include <memory>

#include "attribution/attributor.h"
#include "attribution/ledger.h"
#include "export/state.h"

namespace wattson::exporter::testing {

inline attribution::WorkloadUsage Workload(std::int64_t pid, double cpu, std::string command) {
  attribution::WorkloadUsage u;
  u.key.pid = pid;
  u.key.start_time = 5000 + static_cast<std::uint64_t>(pid);
  u.key.command = std::move(command);
  u.cpu_time = Seconds(cpu);
  return u;
}

inline attribution::TickInput ScenarioTick() {
  using attribution::ZoneEnergy;
  using attribution::ZoneOrigin;
  attribution::TickInput in;
  in.dt = Seconds(3.0);
  ZoneEnergy pkg;
  pkg.id = {"package", "0"};
  pkg.energy = Joules(90.0);
  pkg.source = "rapl-sysfs";
  pkg.model_idle = Watts(10.0);
  ZoneEnergy dram;
  dram.id = {"dram", "0"};
  dram.energy = Joules(15.0);
  dram.source = "rapl-sysfs";
  dram.model_idle = Watts(2.0);
  ZoneEnergy platform;
  platform.id = {"platform", "energy1"};
  platform.energy = Joules(150.0);
  platform.origin = ZoneOrigin::kEstimated;
  platform.model_id = "nx12-linear";
  platform.source = "trained_power_model";
  platform.model_idle = Watts(20.0);
  in.zones = {pkg, dram, platform};

  auto web1 = Workload(100, 1.0, "nginx");
  auto web2 = Workload(101, 0.5, "nginx");
  for (auto* w : {&web1, &web2}) {
    w->key.container_id = "abc123";
    w->key.container_name = "web";
    w->key.pod_uid = "uid-1";
    w->key.pod_name = "frontend";
    w->key.pod_namespace = "shop";
  }
  auto host = Workload(200, 0.5, "say \"hi\"\\");  // escaping in the process golden
  auto vm = Workload(300, 2.0, "qemu-system-x86");
  vm.key.vm_id = "vm-1";
  in.workloads = {web1, web2, host, vm};
  return in;
}

// Two identical ticks through a default Attributor and EnergyLedger.
inline std::shared_ptr<const attribution::LedgerSnapshot> ScenarioLedger() {
  attribution::Attributor attributor;
  attribution::EnergyLedger ledger;
  for (int i = 0; i < 2; ++i) ledger.Apply(*attributor.Tick(ScenarioTick()));
  return ledger.Snapshot();
}

inline AgentStatus ScenarioStatus() {
  AgentStatus s;
  s.node.instance = "node-1";
  s.node.cpu_architecture = "Sapphire Rapids";
  s.node.components_power_source = "rapl-sysfs";
  s.node.platform_power_source = "trained_power_model";
  ModelProvenance m;
  m.id = "nx12-linear";
  m.name = "acpi_AbsPower_BPFOnly_LinearRegressionTrainer_0";
  m.trainer = "LinearRegressionTrainer";
  m.feature_group = "BPFOnly";
  m.energy_source = "acpi";
  m.output_type = "AbsPower";
  m.training_platform = "nx12";
  m.errors = {{"mae", 8.5}, {"mape", 4.25}};
  s.models = {m};
  s.source_errors = {{"hwmon", 0}, {"rapl", 2}};
  s.ticks_total = 2;
  s.last_tick_duration = Seconds(0.0015);
  return s;
}

}  // namespace wattson::exporter::testing
