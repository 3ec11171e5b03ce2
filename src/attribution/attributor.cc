#include "attribution/attributor.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attribution/split.h"
#include "fmt/format.h"

namespace wattson::attribution {
namespace {

bool ValidAmount(double v) { return std::isfinite(v) && v >= 0.0; }

std::optional<double> CleanCounter(const std::optional<double>& v) {
  if (!v.has_value() || !ValidAmount(*v)) return std::nullopt;
  return v;
}

// Usage rows after sanitising: NaN/negative CPU time → 0, NaN/negative counters → absent.
struct CleanUsage {
  double cpu = 0.0;
  std::optional<double> instructions;
  std::optional<double> cache_misses;
  std::optional<double> gpu;
  bool active = false;  // used anything this tick
};

bool IsCoreZone(const std::string& zone) {
  return zone == kZonePackage || zone == kZoneCore || zone == kZoneUncore;
}

// Weights of one usage metric over all workloads, or empty when the metric cannot be used.
std::vector<double> MetricWeights(const std::vector<CleanUsage>& usage, UsageMetric metric) {
  std::vector<double> w(usage.size(), 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < usage.size(); ++i) {
    const CleanUsage& u = usage[i];
    std::optional<double> v;
    switch (metric) {
      case UsageMetric::kCpuTime:
        v = u.cpu;
        break;
      case UsageMetric::kInstructions:
        v = u.instructions;
        break;
      case UsageMetric::kCacheMisses:
        v = u.cache_misses;
        break;
      case UsageMetric::kGpuUsage:
        v = u.gpu.value_or(0.0);  // GPU sources list only the processes that use a GPU
        break;
    }
    if (!v.has_value()) {
      if (u.active) return {};  // an active workload without the counter: cannot use it
      v = 0.0;
    }
    w[i] = *v;
    total += *v;
  }
  if (!(total > 0.0) || !std::isfinite(total)) return {};
  return w;
}

}  // namespace

Attributor::Attributor(AttributorOptions options) : options_(std::move(options)) {}

IdleEstimate Attributor::EstimateIdle(const ZoneEnergy& zone, Seconds dt,
                                      std::optional<double> util) {
  ZoneState& state = zones_[zone.id];
  const bool model = zone.model_idle.has_value();
  if (!state.estimator || state.model != model) {
    state.model = model;
    if (model) {
      state.estimator = std::make_unique<ModelIdle>();
    } else {
      state.estimator = std::make_unique<RollingIdleEstimator>(options_.rolling);
    }
  }
  IdleObservation obs;
  obs.dt = dt;
  obs.power = zone.energy / dt;
  obs.utilization = util;
  obs.model_idle = zone.model_idle;
  return state.estimator->Update(obs);
}

Result<TickResult> Attributor::Tick(const TickInput& input) {
  WATTSON_ASSIGN_OR_RETURN(TickResult result, Split(input));
  result.workloads.reserve(input.workloads.size());
  for (const WorkloadUsage& w : input.workloads) result.workloads.push_back(w.key);
  return result;
}

Result<TickResult> Attributor::Tick(TickInput&& input) {
  WATTSON_ASSIGN_OR_RETURN(TickResult result, Split(input));
  result.workloads.reserve(input.workloads.size());
  for (WorkloadUsage& w : input.workloads) result.workloads.push_back(std::move(w.key));
  return result;
}

Result<TickResult> Attributor::Split(const TickInput& input) {
  const double dt = input.dt.value();
  if (!std::isfinite(dt) || dt <= 0.0) {
    return Status::InvalidArgument(
        fmt::format("attribution: tick interval {} s is not positive", dt));
  }
  std::lock_guard lock(mu_);
  TickResult result;
  result.dt = input.dt;

  // Zones: drop malformed ones, merge duplicates, order by (zone, key).
  std::map<ZoneId, ZoneEnergy> zones;
  for (const ZoneEnergy& z : input.zones) {
    if (z.id.zone.empty()) {
      result.warnings.push_back("zone without a name dropped");
      continue;
    }
    if (!ValidAmount(z.energy.value())) {
      result.warnings.push_back(
          fmt::format("zone {}/{}: energy {} J is not a finite non-negative "
                      "number; dropped this tick",
                      z.id.zone, z.id.key, z.energy.value()));
      continue;
    }
    auto it = zones.find(z.id);
    if (it != zones.end()) {
      it->second.energy += z.energy;
      result.warnings.push_back(fmt::format("zone {}/{} given twice; summed", z.id.zone, z.id.key));
      continue;
    }
    if (zones.size() >= options_.max_zones) {
      result.warnings.push_back(fmt::format("zone {}/{} dropped: more than {} zones", z.id.zone,
                                            z.id.key, options_.max_zones));
      continue;
    }
    ZoneEnergy copy = z;
    if (copy.model_idle.has_value() && !ValidAmount(copy.model_idle->value())) {
      result.warnings.push_back(
          fmt::format("zone {}/{}: model idle power is not a finite non-negative number; ignored",
                      z.id.zone, z.id.key));
      copy.model_idle.reset();
    }
    zones.emplace(z.id, std::move(copy));
  }

  // Usage.
  const std::size_t n = input.workloads.size();
  std::vector<CleanUsage> usage(n);
  std::size_t repaired = 0;
  double cpu_total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const WorkloadUsage& w = input.workloads[i];
    CleanUsage& u = usage[i];
    u.cpu = w.cpu_time.value();
    if (!ValidAmount(u.cpu)) {
      u.cpu = 0.0;
      ++repaired;
    }
    u.instructions = CleanCounter(w.instructions);
    u.cache_misses = CleanCounter(w.cache_misses);
    u.gpu = CleanCounter(w.gpu_usage);
    for (bool dropped : {w.instructions.has_value() && !u.instructions.has_value(),
                         w.cache_misses.has_value() && !u.cache_misses.has_value(),
                         w.gpu_usage.has_value() && !u.gpu.has_value()}) {
      if (dropped) ++repaired;
    }
    u.active = u.cpu > 0.0 || u.instructions.value_or(0.0) > 0.0 ||
               u.cache_misses.value_or(0.0) > 0.0 || u.gpu.value_or(0.0) > 0.0;
    cpu_total += u.cpu;
  }
  if (repaired > 0) {
    result.warnings.push_back(fmt::format(
        "{} usage values were negative or not finite (CPU time → 0, counters → absent)", repaired));
  }

  std::optional<double> util;
  if (input.node_cpu_utilization.has_value() && std::isfinite(*input.node_cpu_utilization)) {
    util = std::clamp(*input.node_cpu_utilization, 0.0, 1.0);
  } else if (options_.cpu_count > 0.0) {
    util = std::clamp(cpu_total / (dt * options_.cpu_count), 0.0, 1.0);
  }

  // Idle / dynamic per zone.
  for (const auto& [id, z] : zones) {
    ZoneSplit s;
    s.id = id;
    s.origin = z.origin;
    s.model_id = z.model_id;
    s.source = z.source;
    s.total = z.energy;
    const IdleEstimate est = EstimateIdle(z, input.dt, util);
    s.idle_method = est.method;
    s.idle_provisional = est.provisional;
    s.idle = Joules(std::clamp(est.idle.value() * dt, 0.0, z.energy.value()));
    s.dynamic = Joules(std::max(0.0, z.energy.value() - s.idle.value()));
    result.zones.push_back(std::move(s));
  }

  // "other" = platform − (package + dram + gpu), idle likewise, as Kepler's node other.
  if (options_.derive_other) {
    bool has_platform = false;
    bool has_other = false;
    double p_total = 0.0, p_idle = 0.0, c_total = 0.0, c_idle = 0.0;
    ZoneSplit other;
    other.id = ZoneId{std::string(kZoneOther), "0"};
    other.idle_method = IdleMethod::kDerived;
    other.idle_provisional = false;
    for (const ZoneSplit& s : result.zones) {
      if (s.id.zone == kZoneOther) has_other = true;
      const bool platform = s.id.zone == kZonePlatform;
      const bool part =
          s.id.zone == kZonePackage || s.id.zone == kZoneDram || s.id.zone == kZoneGpu;
      if (!platform && !part) continue;
      if (platform) {
        if (!has_platform) other.source = s.source;
        has_platform = true;
        p_total += s.total.value();
        p_idle += s.idle.value();
      } else {
        c_total += s.total.value();
        c_idle += s.idle.value();
      }
      if (s.origin == ZoneOrigin::kEstimated) {
        // The platform's model names "other" when the platform is estimated; else a part's.
        if (platform || other.origin == ZoneOrigin::kMeasured) other.model_id = s.model_id;
        other.origin = ZoneOrigin::kEstimated;
      }
      other.idle_provisional = other.idle_provisional || s.idle_provisional;
    }
    if (has_platform && !has_other) {
      const double total = std::max(0.0, p_total - c_total);
      const double idle = std::clamp(p_idle - c_idle, 0.0, total);
      other.total = Joules(total);
      other.idle = Joules(idle);
      other.dynamic = Joules(total - idle);
      result.zones.push_back(std::move(other));
      std::sort(result.zones.begin(), result.zones.end(),
                [](const ZoneSplit& a, const ZoneSplit& b) { return a.id < b.id; });
    }
  }

  // Ratio split of dynamic energy, and idle apportioning.
  const std::size_t nz = result.zones.size();
  result.dynamic.assign(n * nz, Joules(0.0));
  result.idle.assign(n * nz, Joules(0.0));
  std::map<UsageMetric, std::vector<double>> weights_cache;
  auto weights_for = [&](UsageMetric m) -> const std::vector<double>& {
    auto it = weights_cache.find(m);
    if (it == weights_cache.end()) it = weights_cache.emplace(m, MetricWeights(usage, m)).first;
    return it->second;
  };

  std::vector<double> idle_weights;
  if (options_.idle_apportioning == IdleApportioning::kCpuTimeShare) {
    idle_weights = weights_for(UsageMetric::kCpuTime);
  } else if (options_.idle_apportioning == IdleApportioning::kEvenActiveContainers) {
    // Group = container id, else the VM, else the host ("system processes"). Each active group
    // gets an equal share; inside a group, workloads share by CPU time.
    std::unordered_map<std::string, double> group_cpu;
    std::vector<std::string> group(n);
    for (std::size_t i = 0; i < n; ++i) {
      const WorkloadKey& k = input.workloads[i].key;
      group[i] = !k.container_id.empty() ? "c/" + k.container_id
                 : !k.vm_id.empty()      ? "v/" + k.vm_id
                                         : std::string("h/");
      if (usage[i].cpu > 0.0) group_cpu[group[i]] += usage[i].cpu;
    }
    idle_weights.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      if (usage[i].cpu > 0.0) idle_weights[i] = usage[i].cpu / group_cpu[group[i]];
    }
  }

  std::vector<double> parts(n, 0.0);
  for (std::size_t z = 0; z < nz; ++z) {
    ZoneSplit& s = result.zones[z];
    UsageMetric metric = UsageMetric::kCpuTime;
    if (s.id.zone == kZoneGpu) {
      metric = UsageMetric::kGpuUsage;
    } else if (options_.use_hardware_counters && IsCoreZone(s.id.zone) &&
               !weights_for(UsageMetric::kInstructions).empty()) {
      metric = UsageMetric::kInstructions;
    } else if (options_.use_hardware_counters && s.id.zone == kZoneDram &&
               !weights_for(UsageMetric::kCacheMisses).empty()) {
      metric = UsageMetric::kCacheMisses;
    }
    s.metric = metric;
    const std::vector<double>& w = weights_for(metric);
    s.unattributed_dynamic = s.dynamic;
    if (!w.empty() && SplitProportionally(s.dynamic.value(), w, parts)) {
      s.unattributed_dynamic = Joules(0.0);
      for (std::size_t i = 0; i < n; ++i) result.dynamic[i * nz + z] = Joules(parts[i]);
    }
    s.unapportioned_idle = s.idle;
    if (!idle_weights.empty() && SplitProportionally(s.idle.value(), idle_weights, parts)) {
      s.unapportioned_idle = Joules(0.0);
      for (std::size_t i = 0; i < n; ++i) result.idle[i * nz + z] = Joules(parts[i]);
    }
  }
  return result;
}

}  // namespace wattson::attribution
