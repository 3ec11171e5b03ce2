// MeterSet: probes the configured power sources in order and keeps the ones that work on this host,
// with one line per probe (what was found, or why not) for the agent's start-up log.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/host_fs.h"
#include "common/logging.h"
#include "sources/power/hwmon.h"
#include "sources/power/nvml.h"
#include "sources/power/passthrough.h"
#include "sources/power/power_source.h"
#include "sources/power/rapl.h"

namespace wattson {

struct MeterSetConfig {
  // Sources to probe, in order: "rapl", "hwmon", "nvml", "passthrough". Passthrough needs
  // passthrough.path or passthrough.url.
  std::vector<std::string> sources = {"rapl", "hwmon", "nvml"};
  RaplOptions rapl;
  HwmonOptions hwmon;
  NvmlOptions nvml;
  PassthroughOptions passthrough;
};

// The outcome of one probe: ok with what was found, or the reason it is absent or unusable.
struct ProbeOutcome {
  std::string source;  // the configured name: "rapl", "hwmon", "nvml", "passthrough"
  Status status;       // OK when the source works
  std::string detail;  // e.g. "rapl-sysfs: package/0 core/0 dram/0"; the message when not OK
};

class MeterSet {
 public:
  MeterSet() = default;
  MeterSet(MeterSet&&) = default;
  MeterSet& operator=(MeterSet&&) = default;

  // The working sources, in probe order.
  std::vector<std::unique_ptr<PowerSource>>& sources() { return sources_; }
  std::vector<std::unique_ptr<PowerSource>> TakeSources() { return std::move(sources_); }
  // One entry per configured source, in order.
  const std::vector<ProbeOutcome>& DescribeProbes() const { return probes_; }

  void Add(ProbeOutcome outcome, std::unique_ptr<PowerSource> source);

 private:
  std::vector<std::unique_ptr<PowerSource>> sources_;
  std::vector<ProbeOutcome> probes_;
};

// Probes config.sources in order. A source that is absent or fails its probe is recorded (and
// logged at info) and skipped; only an unknown source name or a repeated one is an error
// (InvalidArgument). fs and clock must outlive the returned sources; a null logger is silent.
Result<MeterSet> ProbeMeters(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
                             const MeterSetConfig& config);

}  // namespace wattson
