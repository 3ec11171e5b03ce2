// RAPL through the Linux powercap sysfs interface (Kepler's "rapl-sysfs"): every package zone
// ("package-N"), its core/uncore/dram sub-zones and the platform "psys" zone, read from energy_uj
// (cumulative µJ) and corrected for wraps at max_energy_range_uj. AMD Zen parts appear under the
// same intel-rapl control type since Linux 5.8 (package and core zones) and are read the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "common/logging.h"
#include "sources/power/energy_counter.h"
#include "sources/power/power_source.h"

namespace wattson {

struct RaplOptions {
  // Where powercap control types live. Both layouts are understood: intel-rapl:N directly below
  // this folder (/sys/class/powercap/intel-rapl:0) or below intel-rapl/ (the older, and Kepler's,
  // /sys/class/powercap/intel-rapl/intel-rapl:0). intel-rapl-mmio (which repeats package-0 on
  // client parts) is deliberately not read, so that package energy is not counted twice.
  std::string powercap_dir = "/sys/class/powercap";
  // An interval whose energy implies more than this per zone is a counter reset, not real energy:
  // it is dropped with a warning.
  Watts max_plausible_power = Watts(10000.0);
};

// One discovered RAPL zone.
struct RaplZone {
  std::string zone;                       // "package", "core", "uncore", "dram", "psys"
  std::string key;                        // N from "package-N" (the socket); "0" for psys
  std::string dir;                        // host path of the powercap zone directory
  std::uint64_t max_energy_range_uj = 0;  // 0 when the zone does not publish it
};

// Reads all zones found at probe time. Read() reads every zone; if any read fails it returns an
// error, but zones that were read still advance, and a failed zone's energy is counted by its next
// good read (energy_uj is cumulative), so no energy is lost or doubled across a failed tick unless
// the counter wraps more than once during the gap (≈ 20 minutes at 200 W for a 262 kJ range).
class RaplSource final : public PowerSource {
 public:
  RaplSource(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
             std::vector<RaplZone> zones, RaplOptions options);
  std::string name() const override { return "rapl-sysfs"; }
  Result<PowerReading> Read() override;
  const std::vector<RaplZone>& zones() const { return zones_; }

 private:
  const HostFs& fs_;
  const Clock& clock_;
  std::shared_ptr<Logger> logger_;
  std::vector<RaplZone> zones_;
  RaplOptions options_;
  std::vector<CounterAccumulator> counters_;
  std::vector<std::optional<Clock::MonoTime>> last_ok_;  // per zone: its last good read
};

// Discovers the RAPL zones under options.powercap_dir (read through fs) without reading energy.
// NotFound when there are none.
Result<std::vector<RaplZone>> DiscoverRaplZones(const HostFs& fs, const RaplOptions& options);

// Discovers the zones and reads them once (the baseline; energies start at 0 J). Fails with
// NotFound when the host has no RAPL powercap zones, and with FailedPrecondition when energy_uj
// cannot be read (root-only since Linux 5.10, CVE-2020-8694), saying so.
Result<std::unique_ptr<RaplSource>> ProbeRapl(const HostFs& fs, const Clock& clock,
                                              std::shared_ptr<Logger> logger,
                                              RaplOptions options = {});

}  // namespace wattson
