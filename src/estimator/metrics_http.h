// MetricsHttpServer: the estimator's optional self-telemetry endpoint. GET /metrics returns the
// Prometheus text the render callback produces; GET /healthz returns "ok". One thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/logging.h"
#include "common/status.h"

namespace httplib {
class Server;
}

namespace wattson::estimator {

class MetricsHttpServer {
 public:
  MetricsHttpServer(std::function<std::string()> render, std::shared_ptr<Logger> logger);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // address: "host:port" ("127.0.0.1:9103", "0.0.0.0:0" for any free port).
  Status Start(const std::string& address);
  void Stop();
  int port() const { return port_; }

 private:
  std::function<std::string()> render_;
  std::shared_ptr<Logger> logger_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Splits "host:port" (port 0..65535). "[::1]:9103" is accepted for IPv6.

}  // namespace wattson::estimator
