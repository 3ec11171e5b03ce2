// AgentHttpServer: the agent's HTTP endpoint (cpp-httplib). Serves Prometheus text at the metrics
// path, /healthz (200 while the last tick is recent, else 503 with the reason), /api/v1/snapshot
// (JSON) and the live web page at /. Reads only ExportState, so a slow scrape never blocks a tick.
// Start() binds (port 0 picks a free port) and serves on its own threads; Stop() joins them.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "export/prometheus.h"
#include "export/snapshot_json.h"
#include "export/state.h"

namespace httplib {
class Server;
}

namespace wattson::exporter {

struct HttpOptions {
  std::string address = "0.0.0.0:9102";  // host:port, like Kepler's manifest; port 0 = any free
  std::string metrics_path = "/metrics";
  Seconds max_tick_age{15.0};  // /healthz: the last published tick must be at most this old
  int threads = 4;
  ExpositionOptions exposition;
  SnapshotJsonOptions snapshot;
};

struct HealthReport {
  bool healthy = false;
  std::string reason;  // "ok", or why not
};

// Healthy when a tick has been published within max_age and the agent reports no problem.
HealthReport CheckHealth(const ExportView& view, Clock::MonoTime now, Seconds max_age);

// Splits "host:port" (port 0..65535); "[::1]:9102" is accepted for IPv6.

class AgentHttpServer {
 public:
  AgentHttpServer(const ExportState& state, HttpOptions options, std::shared_ptr<Logger> logger);
  ~AgentHttpServer();
  AgentHttpServer(const AgentHttpServer&) = delete;
  AgentHttpServer& operator=(const AgentHttpServer&) = delete;

  Status Start();
  void Stop();  // idempotent
  int port() const { return port_; }

 private:
  const ExportState& state_;
  HttpOptions options_;
  std::shared_ptr<Logger> logger_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace wattson::exporter
