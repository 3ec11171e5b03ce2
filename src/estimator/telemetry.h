// Telemetry: the estimator's self-measurements (requests by protocol and outcome, a latency
// histogram, connections, connection-level errors) as lock-free counters, rendered in the
// Prometheus text format together with the ModelStore's loaded models and source errors.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "estimator/handler.h"
#include "estimator/model_store.h"

namespace wattson::estimator {

enum class Protocol { kKepler, kFramed };

// Connection events that are not a request outcome.
enum class ConnectionEvent {
  kIdleTimeout,   // framed: no request for the idle timeout
  kClientGone,    // the client closed or reset before the reply was written
  kWriteTimeout,  // the client did not read the reply in time
  kBadHandshake,  // framed: wrong magic or no common version
  kAcceptError,   // accept() failed (EMFILE, ...)
  kEmpty,         // connected and closed without sending anything
};
inline constexpr std::size_t kConnectionEventCount = 6;
std::string_view ConnectionEventName(ConnectionEvent e);

class Telemetry {
 public:
  // Histogram bucket upper bounds, seconds.
  static constexpr std::array<double, 16> kBuckets = {10e-6,  25e-6,  50e-6, 100e-6, 250e-6, 500e-6,
                                                      1e-3,   2.5e-3, 5e-3,  10e-3,  25e-3,  50e-3,
                                                      100e-3, 250e-3, 1.0,   10.0};

  // A request that reached the handler: counted and timed.
  void RecordRequest(Protocol protocol, Outcome outcome, std::chrono::nanoseconds latency);
  // A request refused before it was complete (too large, timed out, not JSON): counted only, so
  // the latency histogram describes answered requests.
  void RecordRefused(Protocol protocol, Outcome outcome);
  void RecordEvent(ConnectionEvent event);
  void ConnectionOpened();
  void ConnectionClosed();

  std::uint64_t requests(Protocol protocol, Outcome outcome) const;
  std::uint64_t events(ConnectionEvent event) const;
  std::int64_t active_connections() const { return active_.load(std::memory_order_relaxed); }

  // Prometheus text exposition (version 0.0.4) of everything above plus the store's state.
  std::string RenderPrometheus(const StoreSnapshot& store) const;

 private:
  std::array<std::atomic<std::uint64_t>, 2 * kOutcomeCount> requests_{};
  std::array<std::atomic<std::uint64_t>, kConnectionEventCount> events_{};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::int64_t> active_{0};
};

}  // namespace wattson::estimator
