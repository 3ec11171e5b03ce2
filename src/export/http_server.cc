#include "export/http_server.h"

#include <charconv>
#include <chrono>
#include <utility>

#include "common/net_text.h"
#include "export/web_page.h"
#include "fmt/format.h"
#include "httplib.h"

namespace wattson::exporter {

HealthReport CheckHealth(const ExportView& view, Clock::MonoTime now, Seconds max_age) {
  if (!view.last_publish.has_value()) return {false, "no tick yet"};
  const double age = SecondsBetween(*view.last_publish, now).value();
  if (age > max_age.value()) {
    return {false, fmt::format("last tick {:.1f} s ago (limit {:.1f} s)", age, max_age.value())};
  }
  if (view.status && !view.status->unhealthy_reason.empty()) {
    return {false, view.status->unhealthy_reason};
  }
  return {true, "ok"};
}

AgentHttpServer::AgentHttpServer(const ExportState& state, HttpOptions options,
                                 std::shared_ptr<Logger> logger)
    : state_(state),
      options_(std::move(options)),
      logger_(logger ? std::move(logger) : MakeNullLogger()) {}

AgentHttpServer::~AgentHttpServer() { Stop(); }

Status AgentHttpServer::Start() {
  if (server_) return Status::FailedPrecondition("HTTP server already started");
  std::string host;
  int port = 0;
  WATTSON_RETURN_IF_ERROR(ParseHostPort(options_.address, "bind address", &host, &port));
  if (options_.metrics_path.empty() || options_.metrics_path.front() != '/' ||
      options_.metrics_path == "/" || options_.metrics_path == "/healthz" ||
      options_.metrics_path == "/api/v1/snapshot") {
    return Status::InvalidArgument(
        fmt::format("metrics path '{}' must start with / and not clash with /, /healthz or "
                    "/api/v1/snapshot",
                    options_.metrics_path));
  }
  auto server = std::make_unique<httplib::Server>();
  const int threads = options_.threads < 1 ? 1 : options_.threads;
  server->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server->set_read_timeout(5, 0);
  server->set_write_timeout(10, 0);
  server->set_payload_max_length(64 * 1024);
  // httplib's default adds SO_REUSEPORT, which would let a second agent share the port silently.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });

  server->Get(options_.metrics_path, [this](const httplib::Request&, httplib::Response& res) {
    const ExportView view = state_.View();
    res.set_content(RenderPrometheus(*view.ledger, *view.status, options_.exposition),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const HealthReport h = CheckHealth(state_.View(), state_.clock().Now(), options_.max_tick_age);
    res.status = h.healthy ? 200 : 503;
    res.set_content(h.reason + "\n", "text/plain; charset=utf-8");
  });
  server->Get("/api/v1/snapshot", [this](const httplib::Request&, httplib::Response& res) {
    const ExportView view = state_.View();
    Json j = BuildSnapshotJson(view, state_.History(), state_.history_window(), options_.snapshot);
    const HealthReport h = CheckHealth(view, state_.clock().Now(), options_.max_tick_age);
    j["health"] = {{"healthy", h.healthy}, {"reason", h.reason}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(j.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
  });
  server->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src 'self' data:");
    const std::string_view html = IndexHtml();
    res.set_content(html.data(), html.size(), "text/html; charset=utf-8");
  });

  if (port == 0) {
    port = server->bind_to_any_port(host);
    if (port <= 0) return Status::IoError(fmt::format("HTTP: cannot bind {}", options_.address));
  } else if (!server->bind_to_port(host, port)) {
    return Status::IoError(fmt::format("HTTP: cannot bind {}", options_.address));
  }
  port_ = port;
  httplib::Server* raw = server.get();
  server_ = std::move(server);
  thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // A Stop() before the listener runs would be lost (httplib 0.11 has no wait_until_ready).
  for (int i = 0; i < 2000 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  logger_->info("serving {}, /healthz, /api/v1/snapshot and / on {}:{}", options_.metrics_path,
                host, port_);
  return Status::Ok();
}

void AgentHttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace wattson::exporter
