// EstimatorServer: the unix-socket front of the sidecar. Two protocols on one socket, told apart
// by the first byte a client sends (docs/estimator-protocol.md):
//  - Kepler v0.7.11's: one JSON request per connection, no framing; the request is complete when
//    its outermost object closes, however the bytes are split; the reply is written whole and the
//    connection closed.
//  - wattson's framed protocol: a version handshake, then length-prefixed requests and replies on
//    a persistent connection (pipelining allowed, replies in order).
//
// Threads: a pool of workers that grows on demand up to max_connections, each accepting and then
// serving one connection at a time (epoll with EPOLLEXCLUSIVE, so an idle worker is woken per
// connection, not all of them); workers idle for worker_idle_exit beyond idle_workers exit.
// Deadlines: read_timeout for a whole request (from its first byte, or from accept),
// write_timeout for a whole reply, idle_timeout between framed requests. The socket is created
// with mode socket_mode (0660) under a temporary name and renamed into place, so it appears only
// when it is ready; a stale socket (nobody listening) is replaced, a live one or a non-socket file
// is an error. Stop() is idempotent, abandons waits, joins every thread and removes the socket if
// it is still the one this server created.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/logging.h"
#include "common/status.h"
#include "estimator/handler.h"
#include "estimator/socket_io.h"
#include "estimator/telemetry.h"

namespace wattson::estimator {

struct ServerOptions {
  std::string socket_path = "/tmp/estimator.sock";
  unsigned socket_mode = 0660;
  std::size_t max_request_bytes = std::size_t{16} << 20;
  std::size_t max_connections = 256;  // concurrent connections served (= worker threads)
  std::size_t idle_workers = 2;       // workers kept waiting for connections
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds worker_idle_exit{30000};
  int listen_backlog = 1024;
  // Bounded adaptive busy-poll (0 disables): after a framed reply, after accept, and after
  // closing a connection, a worker retries the non-blocking recv()/accept() with a CPU pause for
  // up to this long before blocking, so a request arriving meanwhile is served without a thread
  // wake-up (~55 µs on an idle VM CPU). Only while fewer than max(1, CPUs / 2) other connections
  // are being served (under load the CPUs have work). Costs at most this much CPU per request.
  std::chrono::microseconds busy_poll{50};
  // The highest framed-protocol version offered (1: JSON payloads only), for clients that must
  // be tested against an older server.
  std::uint16_t max_framed_version = kFramedVersionMax;
};

class EstimatorServer {
 public:
  // handler and telemetry must outlive the server; telemetry may be null.
  EstimatorServer(ServerOptions options, RequestHandler* handler, Telemetry* telemetry,
                  std::shared_ptr<Logger> logger);
  ~EstimatorServer();
  EstimatorServer(const EstimatorServer&) = delete;
  EstimatorServer& operator=(const EstimatorServer&) = delete;

  // Creates the socket and starts the workers.
  Status Start();
  // Stops accepting, ends every connection at its next wait, joins all threads, removes the
  // socket. Safe to call more than once and from any thread but a worker.
  void Stop();
  bool running() const { return running_.load(); }
  const ServerOptions& options() const { return options_; }
  // Worker threads alive now (for tests and telemetry).
  std::size_t workers() const;

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  Status CreateSocket();
  void SpawnWorker();  // requires workers_mu_
  void MaybeSpawn();
  void WorkerLoop(Worker* self);
  // Serves and closes fd; returns the next connection if the busy-poll accepted one, else -1.
  int ServeAccepted(int fd, std::string* buf, std::string* reply, char* chunk);
  int SpinAccept();  // accept() retried for up to SpinBudget(0); -1 if none came
  // options_.busy_poll while fewer than spin_max_active_ connections (besides `self`, the
  // caller's own) are being served, else 0.
  std::chrono::microseconds SpinBudget(std::size_t self) const;
  void Serve(int fd, std::string* buf, std::string* reply, char* chunk);
  void ServeKepler(int fd, std::string* buf, std::string* reply, char* chunk, Deadline deadline);
  void ServeFramed(int fd, std::string* buf, std::string* reply, char* chunk, Deadline deadline);
  bool WriteReply(int fd, std::string_view data);
  void Event(ConnectionEvent e);

  const ServerOptions options_;
  RequestHandler* const handler_;
  Telemetry* const telemetry_;
  const std::shared_ptr<Logger> logger_;

  int listen_fd_ = -1;
  int wake_fd_ = -1;
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> idle_{0};
  std::atomic<std::size_t> active_{0};  // connections being served
  const std::size_t spin_max_active_;   // max(1, CPUs / 2)

  mutable std::mutex workers_mu_;
  std::list<Worker> workers_;
  std::size_t live_workers_ = 0;
  std::mutex stop_mu_;
};

// Process-wide malloc settings for a long-running server whose requests can be large (call once,
// at start, before threads): allocations of 256 KiB and more are mapped and unmapped directly (a
// fixed threshold: glibc otherwise raises it after each large free, and later large buffers stay
// in the heap for good), freed heap top beyond 1 MiB is returned, and at most 4 malloc arenas
// exist however many connection threads run. Keeps RSS flat under a mix of request sizes.
void ConfigureMallocForServer();

}  // namespace wattson::estimator
