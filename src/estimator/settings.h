// EstimatorSettings: everything `wattson estimator` runs with, resolved from one set of keys in
// one precedence order (config.h): command-line flag > environment > --config file > Kepler config
// directory file > MODEL_CONFIG entry > default. Each flag has a key; the table is in
// docs/estimator-protocol.md ("Configuration").
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "estimator/config.h"
#include "estimator/estimator.h"
#include "estimator/server.h"

namespace wattson::estimator {

struct EstimatorSettings {
  ServerOptions server;
  ModelSourceConfig sources;
  EstimatorOptions estimator;
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(5)};  // 0: never
  std::string metrics_address;                                          // "" = no HTTP endpoint
  std::vector<std::string> notes;  // where each non-default setting came from, for the log
};

// wattson's own keys (Kepler's MODEL_CONFIG / MODEL_SERVER_* keys are read as well).
inline constexpr std::string_view kKeySocket = "WATTSON_ESTIMATOR_SOCKET";
inline constexpr std::string_view kKeyModelDirs = "WATTSON_MODEL_DIRS";  // comma-separated
inline constexpr std::string_view kKeyMaxRequestBytes = "WATTSON_ESTIMATOR_MAX_REQUEST_BYTES";
inline constexpr std::string_view kKeyMaxConnections = "WATTSON_ESTIMATOR_MAX_CONNECTIONS";
inline constexpr std::string_view kKeyReadTimeoutMs = "WATTSON_ESTIMATOR_READ_TIMEOUT_MS";
inline constexpr std::string_view kKeyWriteTimeoutMs = "WATTSON_ESTIMATOR_WRITE_TIMEOUT_MS";
inline constexpr std::string_view kKeyIdleTimeoutMs = "WATTSON_ESTIMATOR_IDLE_TIMEOUT_MS";
inline constexpr std::string_view kKeyRefreshSeconds = "WATTSON_ESTIMATOR_REFRESH_SECONDS";
inline constexpr std::string_view kKeyMetricsAddress = "WATTSON_ESTIMATOR_METRICS_ADDRESS";
inline constexpr std::string_view kKeyDynPowerRule = "WATTSON_ESTIMATOR_DYN_POWER_RULE";
inline constexpr std::string_view kKeyTrainerMatch = "WATTSON_ESTIMATOR_TRAINER_MATCH";
inline constexpr std::string_view kKeyFetchTimeoutMs = "WATTSON_ESTIMATOR_FETCH_TIMEOUT_MS";
// Server busy-poll in µs (ServerOptions::busy_poll), 0..10000; 0 disables.
inline constexpr std::string_view kKeyBusyPollUs = "WATTSON_ESTIMATOR_BUSY_POLL_US";

// flags: the keys given on the command line (key → value); config: the other layers.
Result<EstimatorSettings> ResolveEstimatorSettings(const KeyValues& flags,
                                                   const ConfigLookup& config);

}  // namespace wattson::estimator
