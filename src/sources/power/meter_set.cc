#include "sources/power/meter_set.h"

#include <algorithm>
#include <set>
#include <utility>

#include "fmt/format.h"

namespace wattson {

namespace {

std::string ZoneList(const std::string& source_name, const std::vector<ZoneEnergy>& zones) {
  std::string out = source_name + ":";
  for (const ZoneEnergy& z : zones) out += fmt::format(" {}/{}", z.zone, z.key);
  return out;
}

}  // namespace

void MeterSet::Add(ProbeOutcome outcome, std::unique_ptr<PowerSource> source) {
  probes_.push_back(std::move(outcome));
  if (source != nullptr) sources_.push_back(std::move(source));
}

Result<MeterSet> ProbeMeters(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
                             const MeterSetConfig& config) {
  if (logger == nullptr) logger = MakeNullLogger();
  std::set<std::string> seen;
  for (const std::string& s : config.sources) {
    if (s != "rapl" && s != "hwmon" && s != "nvml" && s != "passthrough") {
      return Status::InvalidArgument(
          fmt::format("unknown power source '{}' (known: rapl, hwmon, nvml, passthrough)", s));
    }
    if (!seen.insert(s).second) {
      return Status::InvalidArgument(fmt::format("power source '{}' is listed twice", s));
    }
  }
  MeterSet set;
  for (const std::string& s : config.sources) {
    ProbeOutcome outcome;
    outcome.source = s;
    std::unique_ptr<PowerSource> source;
    std::vector<ZoneEnergy> zones;
    if (s == "rapl") {
      auto r = ProbeRapl(fs, clock, logger, config.rapl);
      if (r.ok()) {
        for (const RaplZone& z : (*r)->zones()) zones.push_back({z.zone, z.key, {}});
        source = std::move(*r);
      } else {
        outcome.status = r.status();
      }
    } else if (s == "hwmon") {
      auto r = ProbeHwmon(fs, clock, logger, config.hwmon);
      if (r.ok()) {
        for (const HwmonChannel& c : (*r)->channels()) zones.push_back({"platform", c.key, {}});
        source = std::move(*r);
      } else {
        outcome.status = r.status();
      }
    } else if (s == "nvml") {
      auto r = ProbeNvml(clock, logger, config.nvml);
      if (r.ok()) {
        for (const NvmlSource::Gpu& g : (*r)->gpus()) {
          zones.push_back({"gpu", std::to_string(g.index), {}});
        }
        source = std::move(*r);
      } else {
        outcome.status = r.status();
      }
    } else {
      if (config.passthrough.path.empty() && config.passthrough.url.empty()) {
        outcome.status = Status::InvalidArgument("passthrough: no file path or URL configured");
      } else {
        auto r = ProbePassthrough(fs, clock, logger, config.passthrough);
        if (r.ok()) {
          for (const PassthroughEntry& e : (*r)->zones()) zones.push_back({e.zone, e.key, {}});
          source = std::move(*r);
        } else {
          outcome.status = r.status();
        }
      }
    }
    if (source != nullptr) {
      outcome.detail = ZoneList(source->name(), zones);
      logger->info("power source {}: {}", s, outcome.detail);
    } else {
      outcome.detail = outcome.status.ToString();
      logger->info("power source {} not used: {}", s, outcome.detail);
    }
    set.Add(std::move(outcome), std::move(source));
  }
  return set;
}

}  // namespace wattson
