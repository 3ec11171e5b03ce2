#include "sources/power/rapl.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "common/strings.h"
#include "fmt/format.h"

namespace wattson {

namespace {

constexpr std::string_view kPrefix = "intel-rapl:";
constexpr std::size_t kMaxAttrBytes = 4096;

// "intel-rapl:N" → {N}; "intel-rapl:N:M" → {N, M}; anything else → empty.
std::vector<unsigned> ParseZoneId(std::string_view entry) {
  if (entry.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view rest = entry.substr(kPrefix.size());
  std::vector<unsigned> ids;
  while (true) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || ptr == rest.data()) return {};
    ids.push_back(v);
    rest = rest.substr(static_cast<std::size_t>(ptr - rest.data()));
    if (rest.empty()) break;
    if (rest.front() != ':' || ids.size() == 2) return {};
    rest = rest.substr(1);
  }
  return ids;
}

bool IsComponentName(std::string_view n) { return n == "core" || n == "uncore" || n == "dram"; }

bool IsPermissionError(const Status& s) {
  return s.message().find("Permission denied") != std::string::npos ||
         s.message().find("EACCES") != std::string::npos;
}

std::uint64_t MaxRange(const HostFs& fs, const std::string& dir) {
  auto text = fs.ReadFile(dir + "/max_energy_range_uj", kMaxAttrBytes);
  if (!text.ok()) return 0;
  auto v = ParseSysfsUint(*text, "max_energy_range_uj");
  return v.ok() ? *v : 0;
}

}  // namespace

Result<std::vector<RaplZone>> DiscoverRaplZones(const HostFs& fs, const RaplOptions& options) {
  const std::string& base = options.powercap_dir;
  auto entries = fs.ListDir(base);
  if (!entries.ok()) {
    return Status::NotFound(fmt::format("no powercap interface at {} ({})", fs.Describe(base),
                                        entries.status().message()));
  }
  // Top-level zones by id, from the flat layout or else the nested intel-rapl/ one.
  std::map<unsigned, std::string> top;
  std::map<std::pair<unsigned, unsigned>, std::string> flat_subs;
  for (const std::string& e : *entries) {
    std::vector<unsigned> id = ParseZoneId(e);
    if (id.size() == 1) top.emplace(id[0], base + "/" + e);
    if (id.size() == 2) flat_subs.emplace(std::make_pair(id[0], id[1]), base + "/" + e);
  }
  if (top.empty()) {
    const std::string nested = base + "/intel-rapl";
    if (auto sub = fs.ListDir(nested); sub.ok()) {
      for (const std::string& e : *sub) {
        std::vector<unsigned> id = ParseZoneId(e);
        if (id.size() == 1) top.emplace(id[0], nested + "/" + e);
      }
    }
  }
  if (top.empty()) {
    return Status::NotFound(
        fmt::format("no RAPL zones (intel-rapl:N) under {}: the CPU has no RAPL, or the "
                    "intel_rapl_msr module is not loaded",
                    fs.Describe(base)));
  }

  std::vector<RaplZone> zones;
  for (const auto& [n, dir] : top) {
    auto name_text = fs.ReadFile(dir + "/name", kMaxAttrBytes);
    if (!name_text.ok()) continue;  // not a readable zone; skip it
    const std::string name(Trim(*name_text));
    RaplZone z;
    z.dir = dir;
    z.max_energy_range_uj = MaxRange(fs, dir);
    if (name.rfind("package-", 0) == 0 && name.size() > 8) {
      z.zone = "package";
      z.key = name.substr(8);  // "0", or "0-die-1" on multi-die parts
    } else if (name == "psys") {
      z.zone = "psys";
      z.key = "0";
    } else if (IsComponentName(name)) {
      z.zone = name;
      z.key = std::to_string(n);
    } else {
      continue;  // an unknown top-level zone: not one of ours
    }
    const std::string parent_key = z.key;
    zones.push_back(std::move(z));

    // Sub-zones: inside the zone directory, or (flat layout) beside it.
    std::map<unsigned, std::string> subs;
    if (auto inner = fs.ListDir(dir); inner.ok()) {
      for (const std::string& e : *inner) {
        std::vector<unsigned> id = ParseZoneId(e);
        if (id.size() == 2 && id[0] == n) subs.emplace(id[1], dir + "/" + e);
      }
    }
    for (const auto& [id, path] : flat_subs) {
      if (id.first == n) subs.emplace(id.second, path);
    }
    for (const auto& [m, sub_dir] : subs) {
      auto sub_name = fs.ReadFile(sub_dir + "/name", kMaxAttrBytes);
      if (!sub_name.ok()) continue;
      const std::string sn(Trim(*sub_name));
      if (!IsComponentName(sn)) continue;
      RaplZone s;
      s.zone = sn;
      s.key = parent_key;
      s.dir = sub_dir;
      s.max_energy_range_uj = MaxRange(fs, sub_dir);
      zones.push_back(std::move(s));
    }
  }
  // Keys must tell instances apart; a repeated (zone, key) gets the zone's directory as its key.
  std::set<std::pair<std::string, std::string>> seen;
  for (RaplZone& z : zones) {
    if (!seen.insert({z.zone, z.key}).second) {
      z.key = z.dir.substr(z.dir.rfind('/') + 1);
      seen.insert({z.zone, z.key});
    }
  }
  if (zones.empty()) {
    return Status::NotFound(
        fmt::format("RAPL zones under {} have no package, psys, core, uncore "
                    "or dram name",
                    fs.Describe(base)));
  }
  return zones;
}

RaplSource::RaplSource(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
                       std::vector<RaplZone> zones, RaplOptions options)
    : fs_(fs),
      clock_(clock),
      logger_(logger != nullptr ? std::move(logger) : MakeNullLogger()),
      zones_(std::move(zones)),
      options_(std::move(options)) {
  counters_.reserve(zones_.size());
  for (const RaplZone& z : zones_) counters_.emplace_back(z.max_energy_range_uj);
  last_ok_.resize(zones_.size());
}

Result<PowerReading> RaplSource::Read() {
  const Clock::MonoTime now = clock_.Now();
  Status first_error;
  int errors = 0;
  for (std::size_t i = 0; i < zones_.size(); ++i) {
    const RaplZone& z = zones_[i];
    const std::string path = z.dir + "/energy_uj";
    auto text = fs_.ReadFile(path, kMaxAttrBytes);
    Result<std::uint64_t> raw = text.ok() ? ParseSysfsUint(*text, fs_.Describe(path))
                                          : Result<std::uint64_t>(text.status());
    if (!raw.ok()) {
      if (errors++ == 0) first_error = raw.status();
      continue;
    }
    std::optional<std::uint64_t> max_increase;
    if (last_ok_[i]) {
      const double dt = SecondsBetween(*last_ok_[i], now).value();
      if (dt > 0) {
        const double bound = options_.max_plausible_power.value() * dt * 1e6;
        max_increase = bound >= 1.8e19 ? std::numeric_limits<std::uint64_t>::max()
                                       : static_cast<std::uint64_t>(bound);
      }
    }
    const CounterAccumulator::Update u = counters_[i].Add(*raw, max_increase);
    last_ok_[i] = now;
    if (u.outcome == CounterAccumulator::Outcome::kDropped) {
      logger_->warn("rapl-sysfs {}/{} ({}): interval dropped: {}", z.zone, z.key,
                    fs_.Describe(path), u.why);
    } else if (u.outcome == CounterAccumulator::Outcome::kWrapped) {
      logger_->debug("rapl-sysfs {}/{}: energy_uj wrapped at {} µJ", z.zone, z.key,
                     z.max_energy_range_uj);
    }
  }
  if (errors > 0) {
    std::string msg = first_error.message();
    if (errors > 1) msg += fmt::format(" (and {} more zones failed)", errors - 1);
    return Status(first_error.code(), "rapl-sysfs: " + msg);
  }
  PowerReading r;
  r.at = now;
  r.zones.reserve(zones_.size());
  for (std::size_t i = 0; i < zones_.size(); ++i) {
    r.zones.push_back({zones_[i].zone, zones_[i].key,
                       MicrojoulesToJoules(static_cast<double>(counters_[i].total()))});
  }
  return r;
}

Result<std::unique_ptr<RaplSource>> ProbeRapl(const HostFs& fs, const Clock& clock,
                                              std::shared_ptr<Logger> logger, RaplOptions options) {
  if (logger == nullptr) logger = MakeNullLogger();
  WATTSON_ASSIGN_OR_RETURN(std::vector<RaplZone> zones, DiscoverRaplZones(fs, options));
  for (const RaplZone& z : zones) {
    const std::string path = z.dir + "/energy_uj";
    auto text = fs.ReadFile(path, kMaxAttrBytes);
    if (!text.ok()) {
      std::string msg = fmt::format("RAPL zone {}/{} found, but {} is not readable: {}", z.zone,
                                    z.key, fs.Describe(path), text.status().message());
      if (IsPermissionError(text.status())) {
        msg +=
            ". Since Linux 5.10 (CVE-2020-8694) energy_uj is readable by root only: run the agent "
            "as root, or grant it read access (e.g. a udev rule or tmpfiles.d entry that makes "
            "energy_uj readable by the agent's group)";
      }
      return Status::FailedPrecondition(std::move(msg));
    }
    WATTSON_RETURN_IF_ERROR(ParseSysfsUint(*text, fs.Describe(path)).status());
    if (z.max_energy_range_uj == 0) {
      logger->warn(
          "rapl-sysfs {}/{}: no max_energy_range_uj; a counter wrap will drop that "
          "interval",
          z.zone, z.key);
    }
  }
  auto source = std::make_unique<RaplSource>(fs, clock, std::move(logger), std::move(zones),
                                             std::move(options));
  WATTSON_RETURN_IF_ERROR(source->Read().status());
  return source;
}

}  // namespace wattson
