#include "estimator/telemetry.h"

#include "common/net_text.h"
#include "fmt/format.h"

namespace wattson::estimator {

namespace {

constexpr Outcome kOutcomes[] = {Outcome::kOk,         Outcome::kBadRequest, Outcome::kNoModel,
                                 Outcome::kModelError, Outcome::kTooLarge,   Outcome::kTimeout,
                                 Outcome::kInternal};
constexpr ConnectionEvent kEvents[] = {
    ConnectionEvent::kIdleTimeout,  ConnectionEvent::kClientGone,  ConnectionEvent::kWriteTimeout,
    ConnectionEvent::kBadHandshake, ConnectionEvent::kAcceptError, ConnectionEvent::kEmpty};

std::size_t RequestIndex(Protocol p, Outcome o) {
  return (p == Protocol::kKepler ? 0 : kOutcomeCount) + static_cast<std::size_t>(o);
}

}  // namespace

std::string_view ConnectionEventName(ConnectionEvent e) {
  switch (e) {
    case ConnectionEvent::kIdleTimeout:
      return "idle_timeout";
    case ConnectionEvent::kClientGone:
      return "client_gone";
    case ConnectionEvent::kWriteTimeout:
      return "write_timeout";
    case ConnectionEvent::kBadHandshake:
      return "bad_handshake";
    case ConnectionEvent::kAcceptError:
      return "accept_error";
    case ConnectionEvent::kEmpty:
      return "empty";
  }
  return "unknown";
}

void Telemetry::RecordRequest(Protocol protocol, Outcome outcome,
                              std::chrono::nanoseconds latency) {
  requests_[RequestIndex(protocol, outcome)].fetch_add(1, std::memory_order_relaxed);
  const double s = static_cast<double>(latency.count()) * 1e-9;
  std::size_t b = 0;
  while (b < kBuckets.size() && s > kBuckets[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count())),
                            std::memory_order_relaxed);
}

void Telemetry::RecordRefused(Protocol protocol, Outcome outcome) {
  requests_[RequestIndex(protocol, outcome)].fetch_add(1, std::memory_order_relaxed);
}

void Telemetry::RecordEvent(ConnectionEvent event) {
  events_[static_cast<std::size_t>(event)].fetch_add(1, std::memory_order_relaxed);
}

void Telemetry::ConnectionOpened() {
  connections_.fetch_add(1, std::memory_order_relaxed);
  active_.fetch_add(1, std::memory_order_relaxed);
}

void Telemetry::ConnectionClosed() { active_.fetch_sub(1, std::memory_order_relaxed); }

std::uint64_t Telemetry::requests(Protocol protocol, Outcome outcome) const {
  return requests_[RequestIndex(protocol, outcome)].load(std::memory_order_relaxed);
}

std::uint64_t Telemetry::events(ConnectionEvent event) const {
  return events_[static_cast<std::size_t>(event)].load(std::memory_order_relaxed);
}

std::string Telemetry::RenderPrometheus(const StoreSnapshot& store) const {
  std::string out;
  out +=
      "# HELP wattson_estimator_requests_total Requests answered, by protocol and outcome.\n"
      "# TYPE wattson_estimator_requests_total counter\n";
  for (Protocol p : {Protocol::kKepler, Protocol::kFramed}) {
    for (Outcome o : kOutcomes) {
      out +=
          fmt::format("wattson_estimator_requests_total{{protocol=\"{}\",outcome=\"{}\"}} {}\n",
                      p == Protocol::kKepler ? "kepler" : "framed", OutcomeName(o), requests(p, o));
    }
  }
  out +=
      "# HELP wattson_estimator_errors_total Requests answered with an error in msg.\n"
      "# TYPE wattson_estimator_errors_total counter\n";
  std::uint64_t errors = 0;
  for (Protocol p : {Protocol::kKepler, Protocol::kFramed}) {
    for (Outcome o : kOutcomes) {
      if (o != Outcome::kOk) errors += requests(p, o);
    }
  }
  out += fmt::format("wattson_estimator_errors_total {}\n", errors);
  out +=
      "# HELP wattson_estimator_request_duration_seconds Time from a complete request to its "
      "reply written.\n"
      "# TYPE wattson_estimator_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  std::uint64_t bucket_total = 0;
  for (const auto& b : buckets_) bucket_total += b.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("wattson_estimator_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                       kBuckets[i], cumulative);
  }
  out += fmt::format("wattson_estimator_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
                     bucket_total);
  out += fmt::format("wattson_estimator_request_duration_seconds_sum {}\n",
                     static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) * 1e-9);
  out += fmt::format("wattson_estimator_request_duration_seconds_count {}\n", bucket_total);
  out +=
      "# HELP wattson_estimator_connections_total Connections accepted.\n"
      "# TYPE wattson_estimator_connections_total counter\n";
  out += fmt::format("wattson_estimator_connections_total {}\n",
                     connections_.load(std::memory_order_relaxed));
  out +=
      "# HELP wattson_estimator_connections_active Connections being served now.\n"
      "# TYPE wattson_estimator_connections_active gauge\n";
  out += fmt::format("wattson_estimator_connections_active {}\n", active_connections());
  out +=
      "# HELP wattson_estimator_connection_events_total Connections ended by the server for a "
      "reason other than a reply.\n"
      "# TYPE wattson_estimator_connection_events_total counter\n";
  for (ConnectionEvent e : kEvents) {
    out += fmt::format("wattson_estimator_connection_events_total{{event=\"{}\"}} {}\n",
                       ConnectionEventName(e), events(e));
  }
  out +=
      "# HELP wattson_estimator_model_info A model in use, with the request signatures it "
      "serves as the value.\n"
      "# TYPE wattson_estimator_model_info gauge\n";
  for (const auto& m : store.models) {
    out += fmt::format(
        "wattson_estimator_model_info{{model_id=\"{}\",kind=\"{}\",origin=\"{}\",trainer=\"{}\","
        "output_type=\"{}\",energy_source=\"{}\"}} {}\n",
        EscapeLabelValue(m.id), EscapeLabelValue(m.kind), EscapeLabelValue(m.origin),
        EscapeLabelValue(m.trainer), EscapeLabelValue(m.output_type),
        EscapeLabelValue(m.energy_source), m.selections);
  }
  out +=
      "# HELP wattson_estimator_model_source_error A model source whose last load failed "
      "(value 1; the error is in the label).\n"
      "# TYPE wattson_estimator_model_source_error gauge\n";
  for (const auto& [source, error] : store.errors) {
    out += fmt::format("wattson_estimator_model_source_error{{source=\"{}\",error=\"{}\"}} 1\n",
                       EscapeLabelValue(source), EscapeLabelValue(error.substr(0, 300)));
  }
  out += "# TYPE wattson_estimator_cached_selections gauge\n";
  out += fmt::format("wattson_estimator_cached_selections{{result=\"model\"}} {}\n",
                     store.cached_selections);
  out += fmt::format("wattson_estimator_cached_selections{{result=\"failure\"}} {}\n",
                     store.cached_failures);
  out += "# TYPE wattson_estimator_model_refreshes_total counter\n";
  out += fmt::format("wattson_estimator_model_refreshes_total {}\n", store.refreshes);
  out += "# TYPE wattson_estimator_model_swaps_total counter\n";
  out += fmt::format("wattson_estimator_model_swaps_total {}\n", store.swaps);
  out += "# TYPE wattson_estimator_model_rejected_total counter\n";
  out += fmt::format("wattson_estimator_model_rejected_total {}\n", store.rejected);
  return out;
}

}  // namespace wattson::estimator
