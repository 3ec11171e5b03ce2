#include "sources/power/hwmon.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <utility>

#include "common/strings.h"
#include "fmt/format.h"

namespace wattson {

namespace {

constexpr std::size_t kMaxAttrBytes = 4096;

// Drivers whose power is a component's (GPU, CPU), not the platform's.
constexpr std::string_view kComponentDrivers[] = {
    "amdgpu",       "radeon",     "nouveau",  "i915",    "xe",
    "fam15h_power", "amd_energy", "zenpower", "k10temp", "coretemp"};

// "power12_average" with prefix "power" and suffix "_average" → 12.
std::optional<int> ChannelIndex(std::string_view file, std::string_view prefix,
                                std::string_view suffix) {
  if (file.size() <= prefix.size() + suffix.size()) return std::nullopt;
  if (file.substr(0, prefix.size()) != prefix) return std::nullopt;
  if (file.substr(file.size() - suffix.size()) != suffix) return std::nullopt;
  std::string_view digits = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
  int v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : " or ") + n;
  return out;
}

struct Device {
  std::string id;                     // "hwmon2"
  std::string name;                   // contents of `name`
  std::map<int, std::string> energy;  // index → path of energy<i>_input
  std::map<int, std::string> power;   // index → path of power<i>_average (or _input)
};

void ScanAttributes(const HostFs& fs, const std::string& dir, Device& d) {
  auto files = fs.ListDir(dir);
  if (!files.ok()) return;
  std::map<int, std::string> power_input;
  for (const std::string& f : *files) {
    if (auto i = ChannelIndex(f, "energy", "_input")) d.energy[*i] = dir + "/" + f;
    if (auto i = ChannelIndex(f, "power", "_average")) d.power[*i] = dir + "/" + f;
    if (auto i = ChannelIndex(f, "power", "_input")) power_input[*i] = dir + "/" + f;
  }
  for (auto& [i, path] : power_input) d.power.emplace(i, path);  // _average preferred
}

}  // namespace

Result<std::vector<HwmonChannel>> DiscoverHwmonChannels(const HostFs& fs,
                                                        const HwmonOptions& options) {
  auto entries = fs.ListDir(options.hwmon_dir);
  if (!entries.ok()) {
    return Status::NotFound(fmt::format(
        "no hwmon devices at {} ({})", fs.Describe(options.hwmon_dir), entries.status().message()));
  }
  std::vector<Device> devices;
  for (const std::string& e : *entries) {
    if (e.rfind("hwmon", 0) != 0) continue;
    const std::string dir = options.hwmon_dir + "/" + e;
    Device d;
    d.id = e;
    auto name = fs.ReadFile(dir + "/name", kMaxAttrBytes);
    if (!name.ok()) name = fs.ReadFile(dir + "/device/name", kMaxAttrBytes);
    if (name.ok()) d.name = std::string(Trim(*name));
    ScanAttributes(fs, dir, d);
    // Older kernels (and Kepler's path) keep the attributes in the device folder.
    if (d.energy.empty() && d.power.empty()) ScanAttributes(fs, dir + "/device", d);
    if (!d.energy.empty() || !d.power.empty()) devices.push_back(std::move(d));
  }

  std::vector<Device> chosen;
  if (!options.names.empty()) {
    for (Device& d : devices) {
      if (std::find(options.names.begin(), options.names.end(), d.name) != options.names.end()) {
        chosen.push_back(std::move(d));
      }
    }
  } else {
    for (Device& d : devices) {
      if (d.name == "power_meter") chosen.push_back(d);
    }
    if (chosen.empty()) {
      for (Device& d : devices) {
        if (std::find(std::begin(kComponentDrivers), std::end(kComponentDrivers), d.name) ==
            std::end(kComponentDrivers)) {
          chosen.push_back(std::move(d));
        }
      }
    }
  }
  if (chosen.empty()) {
    return Status::NotFound(fmt::format(
        "no hwmon power meter under {} (no device named {} with power<i>_average, power<i>_input "
        "or energy<i>_input)",
        fs.Describe(options.hwmon_dir),
        options.names.empty() ? std::string("power_meter") : JoinNames(options.names)));
  }

  std::vector<HwmonChannel> channels;
  for (const Device& d : chosen) {
    const std::string prefix = chosen.size() > 1 ? d.id + "_" : "";
    const bool use_energy = !d.energy.empty();  // an energy counter beats integrated power
    for (const auto& [i, path] : use_energy ? d.energy : d.power) {
      HwmonChannel c;
      c.key = fmt::format("{}energy{}", prefix, i);
      c.path = path;
      c.kind = use_energy ? HwmonChannel::Kind::kEnergy : HwmonChannel::Kind::kPower;
      channels.push_back(std::move(c));
    }
  }
  return channels;
}

HwmonSource::HwmonSource(const HostFs& fs, const Clock& clock, std::shared_ptr<Logger> logger,
                         std::vector<HwmonChannel> channels, HwmonOptions options)
    : fs_(fs),
      clock_(clock),
      logger_(logger != nullptr ? std::move(logger) : MakeNullLogger()),
      channels_(std::move(channels)),
      options_(std::move(options)) {
  counters_.resize(channels_.size());
  integrators_.assign(channels_.size(), PowerIntegrator(options_.max_gap));
}

Result<PowerReading> HwmonSource::Read() {
  const Clock::MonoTime now = clock_.Now();
  Status first_error;
  int errors = 0;
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    const HwmonChannel& c = channels_[i];
    auto text = fs_.ReadFile(c.path, kMaxAttrBytes);
    Result<std::uint64_t> raw = text.ok() ? ParseSysfsUint(*text, fs_.Describe(c.path))
                                          : Result<std::uint64_t>(text.status());
    if (!raw.ok()) {
      if (errors++ == 0) first_error = raw.status();
      continue;
    }
    if (c.kind == HwmonChannel::Kind::kEnergy) {
      const CounterAccumulator::Update u = counters_[i].Add(*raw);
      if (u.outcome == CounterAccumulator::Outcome::kDropped) {
        logger_->warn("acpi {} ({}): interval dropped: {}", c.key, fs_.Describe(c.path), u.why);
      }
    } else {
      auto u = integrators_[i].Add(now, MicrowattsToWatts(static_cast<double>(*raw)));
      if (!u.ok()) {
        if (errors++ == 0) first_error = u.status();
        continue;
      }
      if (u->dropped) {
        logger_->warn("acpi {}: no reading for more than {} s; that interval is not counted", c.key,
                      options_.max_gap.value());
      }
    }
  }
  if (errors > 0) {
    std::string msg = first_error.message();
    if (errors > 1) msg += fmt::format(" (and {} more channels failed)", errors - 1);
    return Status(first_error.code(), "acpi: " + msg);
  }
  PowerReading r;
  r.at = now;
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    const Joules e = channels_[i].kind == HwmonChannel::Kind::kEnergy
                         ? MicrojoulesToJoules(static_cast<double>(counters_[i].total()))
                         : integrators_[i].total();
    r.zones.push_back({"platform", channels_[i].key, e});
  }
  return r;
}

Result<std::unique_ptr<HwmonSource>> ProbeHwmon(const HostFs& fs, const Clock& clock,
                                                std::shared_ptr<Logger> logger,
                                                HwmonOptions options) {
  WATTSON_ASSIGN_OR_RETURN(std::vector<HwmonChannel> channels, DiscoverHwmonChannels(fs, options));
  auto source = std::make_unique<HwmonSource>(fs, clock, std::move(logger), std::move(channels),
                                              std::move(options));
  if (auto first = source->Read(); !first.ok()) {
    return Status::FailedPrecondition(
        fmt::format("hwmon power meter found but not readable: {}", first.status().message()));
  }
  return source;
}

}  // namespace wattson
