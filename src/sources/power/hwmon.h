// Platform power from hwmon (Kepler's "acpi" source): the ACPI power meter (acpi_power_meter,
// hwmon name "power_meter") or another hwmon device with power<i>_average / power<i>_input (µW) or
// energy<i>_input (µJ, cumulative) attributes. Energy counters are preferred; power readings are
// integrated over the measured time between reads (trapezoid). Zone "platform", key "energy<i>".
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

struct HwmonOptions {
  std::string hwmon_dir = "/sys/class/hwmon";
  // hwmon `name`s accepted as whole-platform meters. When empty: every device named "power_meter"
  // (acpi_power_meter); if there is none, every device with power or energy attributes except
  // the known component-level drivers (GPUs: amdgpu, radeon, nouveau, i915, xe; CPUs:
  // fam15h_power, amd_energy, zenpower, k10temp, coretemp), whose power is not the platform's.
  std::vector<std::string> names;
  // Power readings further apart than this (the meter was unreadable for long) are not integrated:
  // that interval is dropped with a warning rather than guessed from two distant samples.
  Seconds max_gap = Seconds(60.0);
};

// One metered channel of a hwmon device.
struct HwmonChannel {
  enum class Kind { kEnergy, kPower };
  std::string key;   // "energy<i>" (prefixed "hwmonN_" when several devices are read)
  std::string path;  // host path of energy<i>_input, power<i>_average or power<i>_input
  Kind kind = Kind::kPower;
};

// Reads the channels found at probe time. A failed read returns an error; for an energy counter the
// next good read includes the gap's energy; for a power reading the next good sample is integrated
// with the last good one over the whole gap (up to max_gap).
class HwmonSource final : public PowerSource {
 public:
  HwmonSource(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
              std::vector<HwmonChannel> channels, HwmonOptions options);
  std::string name() const override { return "acpi"; }
  Result<PowerReading> Read() override;
  const std::vector<HwmonChannel>& channels() const { return channels_; }

 private:
  const HostFs& fs_;
  const Clock& clock_;
  std::shared_ptr<Logger> logger_;
  std::vector<HwmonChannel> channels_;
  HwmonOptions options_;
  std::vector<CounterAccumulator> counters_;  // kEnergy channels
  std::vector<PowerIntegrator> integrators_;  // kPower channels
};

// Finds the metered channels (see HwmonOptions::names) without reading them. NotFound if none.
Result<std::vector<HwmonChannel>> DiscoverHwmonChannels(const HostFs& fs,
                                                        const HwmonOptions& options);

// Discovers the channels and reads them once (the baseline).
Result<std::unique_ptr<HwmonSource>> ProbeHwmon(const HostFs& fs, const Clock& clock,
                                                std::shared_ptr<Logger> logger,
                                                HwmonOptions options = {});

}  // namespace wattson
