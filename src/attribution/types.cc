#include "attribution/types.h"

namespace wattson::attribution {

std::string_view ZoneOriginName(ZoneOrigin origin) {
  return origin == ZoneOrigin::kMeasured ? "measured" : "estimated";
}

std::string_view UsageMetricName(UsageMetric metric) {
  switch (metric) {
    case UsageMetric::kCpuTime:
      return "cpu_time";
    case UsageMetric::kInstructions:
      return "instructions";
    case UsageMetric::kCacheMisses:
      return "cache_misses";
    case UsageMetric::kGpuUsage:
      return "gpu_usage";
  }
  return "cpu_time";
}

std::string_view IdleMethodName(IdleMethod method) {
  switch (method) {
    case IdleMethod::kModel:
      return "model";
    case IdleMethod::kRegression:
      return "regression";
    case IdleMethod::kPercentile:
      return "percentile";
    case IdleMethod::kWarmingUp:
      return "warming_up";
    case IdleMethod::kDerived:
      return "derived";
  }
  return "warming_up";
}

std::string_view IdleApportioningName(IdleApportioning rule) {
  switch (rule) {
    case IdleApportioning::kNone:
      return "none";
    case IdleApportioning::kCpuTimeShare:
      return "cpu_time";
    case IdleApportioning::kEvenActiveContainers:
      return "even_active_containers";
  }
  return "none";
}

std::optional<IdleApportioning> ParseIdleApportioning(std::string_view name) {
  if (name == "none") return IdleApportioning::kNone;
  if (name == "cpu_time" || name == "cpu-time") return IdleApportioning::kCpuTimeShare;
  if (name == "even_active_containers" || name == "even-active-containers") {
    return IdleApportioning::kEvenActiveContainers;
  }
  return std::nullopt;
}

bool IsTotalZone(std::string_view zone) {
  return zone == kZonePackage || zone == kZoneDram || zone == kZoneGpu || zone == kZoneOther;
}

}  // namespace wattson::attribution
