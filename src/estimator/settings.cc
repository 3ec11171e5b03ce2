#include "estimator/settings.h"

#include <charconv>
#include <optional>

#include "fmt/format.h"

namespace wattson::estimator {

namespace {

// Looks keys up flag-first and remembers where each value came from.
class Layers {
 public:
  Layers(const KeyValues& flags, const ConfigLookup& config) : flags_(flags), config_(config) {}

  std::optional<std::string> Get(std::string_view key, std::string* origin) const {
    const std::string k(key);
    if (auto it = flags_.find(k); it != flags_.end()) {
      *origin = "command line";
      return it->second;
    }
    *origin = config_.Origin(k);
    return config_.Get(k);
  }

 private:
  const KeyValues& flags_;
  const ConfigLookup& config_;
};

Result<long long> ParseInt(std::string_view key, const std::string& origin,
                           const std::string& value, long long min, long long max) {
  long long v = 0;
  const char* first = value.data();
  const char* last = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last || v < min || v > max) {
    return Status::InvalidArgument(
        fmt::format("{} (from {}): expected an integer in [{}, {}], got '{}'", key, origin, min,
                    max, value.substr(0, 80)));
  }
  return v;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

}  // namespace

Result<EstimatorSettings> ResolveEstimatorSettings(const KeyValues& flags,
                                                   const ConfigLookup& config) {
  EstimatorSettings s;
  ApplyKeplerModelConfig(config, &s.sources);
  const Layers layers(flags, config);
  std::string origin;
  auto note = [&](std::string_view key, const std::string& value) {
    s.notes.push_back(fmt::format("{}={} (from {})", key, value, origin));
  };
  auto integer = [&](std::string_view key, long long min, long long max, auto apply) -> Status {
    if (auto v = layers.Get(key, &origin)) {
      WATTSON_ASSIGN_OR_RETURN(long long n, ParseInt(key, origin, *v, min, max));
      apply(n);
      note(key, *v);
    }
    return Status::Ok();
  };

  if (auto v = layers.Get(kKeySocket, &origin); v && !v->empty()) {
    s.server.socket_path = *v;
    note(kKeySocket, *v);
  }
  if (auto v = layers.Get(kKeyModelDirs, &origin)) {
    s.sources.model_dirs = SplitComma(*v);
    note(kKeyModelDirs, *v);
  }
  WATTSON_RETURN_IF_ERROR(integer(kKeyMaxRequestBytes, 1024, 1LL << 31, [&](long long n) {
    s.server.max_request_bytes = static_cast<std::size_t>(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyMaxConnections, 64, 65536, [&](long long n) {
    s.server.max_connections = static_cast<std::size_t>(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyReadTimeoutMs, 1, 3'600'000, [&](long long n) {
    s.server.read_timeout = std::chrono::milliseconds(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyWriteTimeoutMs, 1, 3'600'000, [&](long long n) {
    s.server.write_timeout = std::chrono::milliseconds(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyIdleTimeoutMs, 1, 86'400'000, [&](long long n) {
    s.server.idle_timeout = std::chrono::milliseconds(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyBusyPollUs, 0, 10'000, [&](long long n) {
    s.server.busy_poll = std::chrono::microseconds(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyRefreshSeconds, 0, 86'400 * 30, [&](long long n) {
    s.refresh_interval = std::chrono::seconds(n);
  }));
  WATTSON_RETURN_IF_ERROR(integer(kKeyFetchTimeoutMs, 1, 600'000, [&](long long n) {
    s.sources.fetch_timeout = std::chrono::milliseconds(n);
  }));
  if (auto v = layers.Get(kKeyMetricsAddress, &origin)) {
    s.metrics_address = *v;
    note(kKeyMetricsAddress, *v);
  }
  if (auto v = layers.Get(kKeyDynPowerRule, &origin)) {
    if (*v == "node") {
      s.estimator.dyn_power_rule = DynPowerRule::kNodeConserving;
    } else if (*v == "row") {
      s.estimator.dyn_power_rule = DynPowerRule::kPerRow;
    } else {
      return Status::InvalidArgument(fmt::format("{} (from {}): expected node or row, got '{}'",
                                                 kKeyDynPowerRule, origin, *v));
    }
    note(kKeyDynPowerRule, *v);
  }
  if (auto v = layers.Get(kKeyTrainerMatch, &origin)) {
    if (*v == "prefer") {
      s.sources.trainer_match = TrainerMatch::kPrefer;
    } else if (*v == "strict") {
      s.sources.trainer_match = TrainerMatch::kStrict;
    } else {
      return Status::InvalidArgument(fmt::format(
          "{} (from {}): expected prefer or strict, got '{}'", kKeyTrainerMatch, origin, *v));
    }
    note(kKeyTrainerMatch, *v);
  }
  if (auto v = config.Get("MODEL_SERVER_ENABLE")) {
    WATTSON_RETURN_IF_ERROR(ParseBool("MODEL_SERVER_ENABLE", *v).status());
  }
  for (const auto& init : s.sources.init_urls) {
    s.notes.push_back(fmt::format("{}_INIT_URL={} (from {})", init.prefix, init.url,
                                  config.Origin(init.prefix + "_INIT_URL")));
  }
  if (s.sources.model_server_enable) {
    s.notes.push_back(fmt::format("model server {}", s.sources.model_server_endpoint));
  }
  return s;
}

}  // namespace wattson::estimator
