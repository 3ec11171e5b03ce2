// PowerSource: one measured meter of node power (RAPL, hwmon/ACPI, NVML, a host's passthrough).
// Every Read() reports, per zone, the energy used since the source started: cumulative, monotonic,
// counter wraps corrected; a consumer takes differences between ticks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/units.h"

namespace wattson {

// One energy counter of a meter: zone is one of "package","core","uncore","dram","psys",
// "platform","gpu"; key tells instances apart (RAPL socket "0","1"; hwmon "energy1"; GPU index
// "0").
struct ZoneEnergy {
  std::string zone;
  std::string key;
  Joules energy;  // cumulative since the source started, monotonic (wraps corrected)
};

struct PowerReading {
  Clock::MonoTime at;
  std::vector<ZoneEnergy> zones;
};

// A meter; Read() is called once per tick from one thread. A Read() that fails loses nothing a
// cumulative hardware counter still holds: the next good Read() includes the energy of the gap.
class PowerSource {
 public:
  virtual ~PowerSource() = default;
  // Kepler `source` label: "rapl-sysfs", "acpi", "nvidia-nvml", "passthrough".
  virtual std::string name() const = 0;
  virtual Result<PowerReading> Read() = 0;
};

// The zone names a PowerSource may report.
bool IsKnownZone(std::string_view zone);

}  // namespace wattson
