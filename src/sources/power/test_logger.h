// Test support: a logger whose messages a test can inspect.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "spdlog/sinks/ringbuffer_sink.h"

namespace wattson {

class CapturingLogger {
 public:
  CapturingLogger()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)),
        logger_(std::make_shared<Logger>("test", sink_)) {
    logger_->set_level(spdlog::level::debug);
    sink_->set_pattern("%l %v");
  }
  std::shared_ptr<Logger> get() const { return logger_; }
  std::vector<std::string> lines() const { return sink_->last_formatted(); }
  // True if some line contains every one of parts.
  bool Contains(const std::vector<std::string>& parts) const {
    for (const std::string& l : lines()) {
      bool all = true;
      for (const std::string& p : parts) all = all && l.find(p) != std::string::npos;
      if (all) return true;
    }
    return false;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<Logger> logger_;
};

}  // namespace wattson
