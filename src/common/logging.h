// Logging: each program builds one spdlog logger from its configuration and passes it down; nothing
// logs through a global. Messages go to stderr.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "spdlog/logger.h"

namespace wattson {

using Logger = spdlog::logger;

// Parses "trace", "debug", "info", "warn", "error", "off".
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// A logger named name writing to stderr at the given level.
std::shared_ptr<Logger> MakeStderrLogger(std::string_view name, spdlog::level::level_enum level);

// A logger that drops everything: for tests and library callers that want silence.
std::shared_ptr<Logger> MakeNullLogger();

}  // namespace wattson
