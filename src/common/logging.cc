#include "common/logging.h"

#include <string>

#include "fmt/format.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace wattson {

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  using L = spdlog::level::level_enum;
  if (name == "trace") return L::trace;
  if (name == "debug") return L::debug;
  if (name == "info") return L::info;
  if (name == "warn" || name == "warning") return L::warn;
  if (name == "error") return L::err;
  if (name == "off") return L::off;
  return Status::InvalidArgument(
      fmt::format("unknown log level '{}' (trace, debug, info, warn, error, off)", name));
}

std::shared_ptr<Logger> MakeStderrLogger(std::string_view name, spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<Logger>(std::string(name), std::move(sink));
  logger->set_level(level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  return logger;
}

std::shared_ptr<Logger> MakeNullLogger() {
  return std::make_shared<Logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
}

}  // namespace wattson
