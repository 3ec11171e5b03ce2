#include "estimator/metrics_http.h"

#include <charconv>
#include <chrono>

#include "common/net_text.h"
#include "fmt/format.h"
#include "httplib.h"

namespace wattson::estimator {

MetricsHttpServer::MetricsHttpServer(std::function<std::string()> render,
                                     std::shared_ptr<Logger> logger)
    : render_(std::move(render)), logger_(logger ? std::move(logger) : MakeNullLogger()) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

Status MetricsHttpServer::Start(const std::string& address) {
  if (server_) return Status::FailedPrecondition("metrics server already started");
  std::string host;
  int port = 0;
  WATTSON_RETURN_IF_ERROR(ParseHostPort(address, "metrics address", &host, &port));
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(1); };
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  if (port == 0) {
    port = server->bind_to_any_port(host);
    if (port <= 0) return Status::IoError(fmt::format("metrics: cannot bind {}", address));
  } else if (!server->bind_to_port(host, port)) {
    return Status::IoError(fmt::format("metrics: cannot bind {}", address));
  }
  port_ = port;
  httplib::Server* raw = server.get();
  server_ = std::move(server);
  thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // Stop() before the listener runs would be lost (httplib 0.11 has no wait_until_ready).
  for (int i = 0; i < 2000 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  logger_->info("estimator metrics on http://{}:{}/metrics", host, port_);
  return Status::Ok();
}

void MetricsHttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace wattson::estimator
