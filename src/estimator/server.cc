#include "estimator/server.h"

#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "estimator/binary_codec.h"
#include "estimator/request.h"
#include "estimator/response.h"
#include "estimator/socket_io.h"
#include "fmt/format.h"

namespace wattson::estimator {

namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kKeepBufferBytes = 256 * 1024;  // larger per-worker buffers are released

using Clock = std::chrono::steady_clock;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Status FillAddress(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) {
    return Status::InvalidArgument(fmt::format("socket path '{}' is empty or longer than {} bytes",
                                               path, sizeof(addr->sun_path) - 1));
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::Ok();
}

std::string Errno(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

}  // namespace

void ConfigureMallocForServer() {
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  ::mallopt(M_ARENA_MAX, 4);
}

EstimatorServer::EstimatorServer(ServerOptions options, RequestHandler* handler,
                                 Telemetry* telemetry, std::shared_ptr<Logger> logger)
    : options_(std::move(options)),
      handler_(handler),
      telemetry_(telemetry),
      logger_(logger ? std::move(logger) : MakeNullLogger()),
      spin_max_active_(std::max<std::size_t>(1, std::thread::hardware_concurrency() / 2)) {}

EstimatorServer::~EstimatorServer() { Stop(); }

void EstimatorServer::Event(ConnectionEvent e) {
  if (telemetry_ != nullptr) telemetry_->RecordEvent(e);
}

Status EstimatorServer::CreateSocket() {
  const std::string& path = options_.socket_path;
  sockaddr_un addr;
  WATTSON_RETURN_IF_ERROR(FillAddress(path, &addr));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition(
          fmt::format("{} exists and is not a socket; not replacing it", path));
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) return Status::IoError(Errno("socket"));
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      return Status::FailedPrecondition(
          fmt::format("another process is already listening on {}", path));
    }
    if (errno != ECONNREFUSED && errno != ENOENT) {
      return Status::IoError(Errno(fmt::format("checking the existing socket {}", path)));
    }
    logger_->info("replacing stale socket {}", path);
  } else if (errno != ENOENT) {
    return Status::IoError(Errno(fmt::format("stat {}", path)));
  }

  // Bind under a temporary name, set the mode, listen, then rename into place: the path appears
  // only once the socket accepts connections and has its final permissions.
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  sockaddr_un tmp_addr;
  WATTSON_RETURN_IF_ERROR(FillAddress(tmp, &tmp_addr));
  if (::lstat(tmp.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(tmp.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::IoError(Errno("socket"));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&tmp_addr), sizeof(tmp_addr)) != 0) {
    return Status::IoError(Errno(fmt::format("bind {}", tmp)));
  }
  auto fail = [&](std::string msg) {
    ::unlink(tmp.c_str());
    return Status::IoError(std::move(msg));
  };
  if (::chmod(tmp.c_str(), static_cast<mode_t>(options_.socket_mode)) != 0) {
    return fail(Errno(fmt::format("chmod {}", tmp)));
  }
  if (::listen(fd.get(), options_.listen_backlog) != 0) return fail(Errno("listen"));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(Errno(fmt::format("rename {} to {}", tmp, path)));
  }
  if (::stat(path.c_str(), &st) == 0) {
    socket_dev_ = st.st_dev;
    socket_ino_ = st.st_ino;
  }
  listen_fd_ = fd.release();
  return Status::Ok();
}

Status EstimatorServer::Start() {
  if (running_.load() || listen_fd_ >= 0) {
    return Status::FailedPrecondition("the estimator server is already running");
  }
  if (handler_ == nullptr) return Status::InvalidArgument("no request handler");
  WATTSON_RETURN_IF_ERROR(CreateSocket());
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    Status s = Status::IoError(Errno("eventfd"));
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(options_.socket_path.c_str());
    return s;
  }
  stopping_.store(false);
  running_.store(true);
  std::lock_guard<std::mutex> lock(workers_mu_);
  const std::size_t initial = std::max<std::size_t>(1, options_.idle_workers);
  for (std::size_t i = 0; i < initial; ++i) SpawnWorker();
  logger_->info("estimator listening on {} (mode {:o}, up to {} connections)", options_.socket_path,
                options_.socket_mode, options_.max_connections);
  return Status::Ok();
}

void EstimatorServer::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (listen_fd_ < 0 && !running_.load()) return;
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }
  for (;;) {
    std::list<Worker> taken;
    {
      std::lock_guard<std::mutex> lock(workers_mu_);
      if (workers_.empty()) break;
      taken.splice(taken.end(), workers_);
    }
    for (auto& w : taken) {
      if (w.thread.joinable()) w.thread.join();
    }
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    struct stat st {};
    if (::stat(options_.socket_path.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
        st.st_ino == socket_ino_) {
      ::unlink(options_.socket_path.c_str());
    }
  }
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
  if (running_.exchange(false)) logger_->info("estimator stopped");
}

std::size_t EstimatorServer::workers() const {
  std::lock_guard<std::mutex> lock(workers_mu_);
  return live_workers_;
}

void EstimatorServer::SpawnWorker() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  if (stopping_.load() || live_workers_ >= options_.max_connections) return;
  Worker& w = workers_.emplace_back();
  ++live_workers_;
  try {
    w.thread = std::thread([this, &w] { WorkerLoop(&w); });
  } catch (const std::exception& e) {
    --live_workers_;
    workers_.pop_back();
    logger_->error("cannot start a worker thread: {}", e.what());
  }
}

void EstimatorServer::MaybeSpawn() {
  if (idle_.load() > 0) return;
  std::lock_guard<std::mutex> lock(workers_mu_);
  if (idle_.load() == 0) SpawnWorker();
}

void EstimatorServer::WorkerLoop(Worker* self) {
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  bool ok = ep.get() >= 0;
  if (ok) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u32 = 0;
    ok = ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, listen_fd_, &ev) == 0;
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.u32 = 1;
    ok = ok && ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, wake_fd_, &wake) == 0;
  }
  if (!ok) logger_->error("estimator worker: {}", Errno("epoll"));
  std::string buf;
  std::string reply;
  auto chunk = std::make_unique<char[]>(kChunkBytes);
  const int idle_ms =
      static_cast<int>(std::clamp<std::int64_t>(options_.worker_idle_exit.count(), 1, 1 << 30));
  int next_fd = -1;  // a connection taken by the busy-poll after the previous one
  while (ok && !stopping_.load()) {
    if (next_fd >= 0) {
      const int fd = next_fd;
      next_fd = -1;
      next_fd = ServeAccepted(fd, &buf, &reply, chunk.get());
      continue;
    }
    epoll_event events[2];
    idle_.fetch_add(1);
    const int n = ::epoll_wait(ep.get(), events, 2, idle_ms);
    idle_.fetch_sub(1);
    if (stopping_.load()) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      logger_->error("estimator worker: {}", Errno("epoll_wait"));
      break;
    }
    if (n == 0) {
      // Idle for a while: leave if enough others are waiting for connections.
      std::lock_guard<std::mutex> lock(workers_mu_);
      if (live_workers_ > std::max<std::size_t>(1, options_.idle_workers) && idle_.load() >= 1) {
        break;
      }
      continue;
    }
    bool wake = false;
    for (int i = 0; i < n; ++i) wake = wake || events[i].data.u32 == 1;
    if (wake) break;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      Event(ConnectionEvent::kAcceptError);
      logger_->warn("estimator: {}", Errno("accept"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    next_fd = ServeAccepted(fd, &buf, &reply, chunk.get());
  }
  if (next_fd >= 0) ::close(next_fd);
  std::lock_guard<std::mutex> lock(workers_mu_);
  --live_workers_;
  self->done.store(true);
}

int EstimatorServer::ServeAccepted(int fd, std::string* buf, std::string* reply, char* chunk) {
  MaybeSpawn();  // keep a worker waiting for the next connection
  if (telemetry_ != nullptr) telemetry_->ConnectionOpened();
  active_.fetch_add(1, std::memory_order_relaxed);
  try {
    Serve(fd, buf, reply, chunk);
  } catch (const std::exception& e) {
    logger_->error("estimator: connection failed: {}", e.what());
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
  ::close(fd);
  if (telemetry_ != nullptr) telemetry_->ConnectionClosed();
  if (buf->capacity() > kKeepBufferBytes) std::string().swap(*buf);
  if (reply->capacity() > kKeepBufferBytes) std::string().swap(*reply);
  return SpinAccept();
}

std::chrono::microseconds EstimatorServer::SpinBudget(std::size_t self) const {
  // Spinning only pays while CPUs would otherwise idle (each connection also has a client
  // thread): with other connections busy on half the CPUs or more, a spinning worker would take
  // CPU time from one that has work.
  if (active_.load(std::memory_order_relaxed) >= spin_max_active_ + self) {
    return std::chrono::microseconds(0);
  }
  return options_.busy_poll;
}

int EstimatorServer::SpinAccept() {
  const auto budget = SpinBudget(0);
  if (budget.count() <= 0) return -1;
  const auto until = Clock::now() + budget;
  do {
    if (stopping_.load(std::memory_order_relaxed)) return -1;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
      return -1;  // the blocking path reports it
    }
    SpinPause();
  } while (Clock::now() < until);
  return -1;
}

bool EstimatorServer::WriteReply(int fd, std::string_view data) {
  const IoResult r = WriteAll(fd, data, Clock::now() + options_.write_timeout);
  switch (r.status) {
    case IoStatus::kOk:
      return true;
    case IoStatus::kTimeout:
      Event(ConnectionEvent::kWriteTimeout);
      logger_->debug("estimator: a client did not read its reply within {} ms",
                     options_.write_timeout.count());
      return false;
    default:
      Event(ConnectionEvent::kClientGone);
      logger_->debug("estimator: a client went away before its reply was written");
      return false;
  }
}

void EstimatorServer::Serve(int fd, std::string* buf, std::string* reply, char* chunk) {
  buf->clear();
  const Deadline deadline = Clock::now() + options_.read_timeout;
  std::size_t first = 0;
  for (;;) {
    const IoResult r = ReadSome(fd, chunk, kChunkBytes, deadline, wake_fd_, SpinBudget(1));
    if (r.status == IoStatus::kOk) {
      const std::size_t old = buf->size();
      buf->append(chunk, r.bytes);
      first = old;
      while (first < buf->size() && IsSpace((*buf)[first])) ++first;
      if (first < buf->size()) break;
      if (buf->size() > options_.max_request_bytes) break;  // whitespace only: let Kepler mode say
      continue;
    }
    if (r.status == IoStatus::kEof) {
      if (buf->empty()) Event(ConnectionEvent::kEmpty);
      return;
    }
    if (r.status == IoStatus::kTimeout) {
      reply->clear();
      AppendErrorReply(
          fmt::format("no request arrived within {} ms", options_.read_timeout.count()), false,
          reply);
      if (telemetry_ != nullptr) {
        telemetry_->RecordRefused(Protocol::kKepler, Outcome::kTimeout);
      }
      (void)WriteReply(fd, *reply);
      return;
    }
    if (r.status == IoStatus::kClosed || r.status == IoStatus::kError) {
      Event(ConnectionEvent::kClientGone);
    }
    return;  // stopped, closed or error
  }
  if (first < buf->size() && (*buf)[first] == kFramedMagic[0]) {
    buf->erase(0, first);
    ServeFramed(fd, buf, reply, chunk, deadline);
  } else {
    ServeKepler(fd, buf, reply, chunk, deadline);
  }
}

void EstimatorServer::ServeKepler(int fd, std::string* buf, std::string* reply, char* chunk,
                                  Deadline deadline) {
  const std::size_t max = options_.max_request_bytes;
  DocumentScanner scanner;
  DocumentScanner::State state = scanner.Feed(*buf);
  reply->clear();
  auto fail = [&](Outcome outcome, const std::string& message) {
    AppendErrorReply(message, false, reply);
    if (telemetry_ != nullptr) telemetry_->RecordRefused(Protocol::kKepler, outcome);
    (void)WriteReply(fd, *reply);
  };
  auto too_large = [&] {
    fail(Outcome::kTooLarge,
         fmt::format("the request exceeds the limit of {} bytes (--max-request-bytes)", max));
  };
  while (state == DocumentScanner::State::kNeedMore) {
    if (buf->size() > max) return too_large();
    const std::size_t cap = std::min(kChunkBytes, max + 1 - buf->size());
    const IoResult r = ReadSome(fd, chunk, cap, deadline, wake_fd_);
    switch (r.status) {
      case IoStatus::kOk:
        buf->append(chunk, r.bytes);
        state = scanner.Feed(std::string_view(chunk, r.bytes));
        continue;
      case IoStatus::kEof:
        return fail(Outcome::kBadRequest,
                    fmt::format("the request ended after {} bytes, before its JSON object was "
                                "complete",
                                buf->size()));
      case IoStatus::kTimeout:
        return fail(Outcome::kTimeout,
                    fmt::format("timed out: no complete request within {} ms ({} bytes received)",
                                options_.read_timeout.count(), buf->size()));
      case IoStatus::kStopped:
        return;
      default:
        Event(ConnectionEvent::kClientGone);
        return;
    }
  }
  if (state == DocumentScanner::State::kError) return fail(Outcome::kBadRequest, scanner.error());
  if (scanner.end() > max) return too_large();

  const auto start = Clock::now();
  const Outcome outcome = handler_->Handle(std::string_view(buf->data(), scanner.end()), reply);
  const bool written = WriteReply(fd, *reply);
  if (telemetry_ != nullptr) {
    telemetry_->RecordRequest(Protocol::kKepler, outcome, Clock::now() - start);
  }
  if (written) {
    // Read what the client may still have sent (a trailing newline), so closing does not reset
    // the connection under its unread reply.
    for (int i = 0; i < 16; ++i) {
      if (::recv(fd, chunk, kChunkBytes, MSG_DONTWAIT) <= 0) break;
    }
  }
}

void EstimatorServer::ServeFramed(int fd, std::string* buf, std::string* reply, char* chunk,
                                  Deadline deadline) {
  const std::size_t max = options_.max_request_bytes;
  // Reads until buf holds `need` bytes. Returns the failed status, or kOk.
  auto fill = [&](std::size_t need, Deadline until) -> IoStatus {
    while (buf->size() < need) {
      const IoResult r = ReadSome(fd, chunk, kChunkBytes, until, wake_fd_, SpinBudget(1));
      if (r.status != IoStatus::kOk) return r.status;
      buf->append(chunk, r.bytes);
    }
    return IoStatus::kOk;
  };
  auto error_frame = [&](const std::string& message) {
    reply->clear();
    reply->resize(kFrameHeaderBytes);
    AppendErrorReply(message, false, reply);
    std::string header;
    AppendU32(static_cast<std::uint32_t>(reply->size() - kFrameHeaderBytes), &header);
    reply->replace(0, kFrameHeaderBytes, header);
    (void)WriteReply(fd, *reply);
  };

  if (fill(kHelloBytes, deadline) != IoStatus::kOk) {
    Event(ConnectionEvent::kBadHandshake);
    return;
  }
  if (std::string_view(buf->data(), kFramedMagic.size()) != kFramedMagic) {
    Event(ConnectionEvent::kBadHandshake);
    reply->clear();
    AppendErrorReply(
        "unknown protocol: expected a JSON request object or the framed protocol hello \"WTSN\"",
        false, reply);
    (void)WriteReply(fd, *reply);
    return;
  }
  const std::uint16_t lo = ReadU16(buf->data() + 4);
  const std::uint16_t hi = ReadU16(buf->data() + 6);
  std::uint16_t chosen = 0;
  const std::uint16_t top =
      std::clamp(options_.max_framed_version, kFramedVersionMin, kFramedVersionMax);
  if (lo <= hi && lo <= top && hi >= kFramedVersionMin) {
    chosen = std::min(hi, top);
  }
  buf->erase(0, kHelloBytes);
  {
    std::string hello(kFramedMagic);
    AppendU16(chosen, &hello);
    AppendU16(chosen == 0 ? 1 : 0, &hello);
    std::string body = fmt::format(
        "{{\"server\": \"wattson estimator\", \"protocol_version\": {}, \"max_request_bytes\": {}, "
        "\"msg\": ",
        chosen, max);
    AppendJsonString(chosen == 0 ? fmt::format("no common protocol version: the client speaks "
                                               "{}..{}, this server {}..{}",
                                               lo, hi, kFramedVersionMin, top)
                                 : std::string(),
                     &body);
    body += "}";
    AppendU32(static_cast<std::uint32_t>(body.size()), &hello);
    hello += body;
    if (!WriteReply(fd, hello)) return;
    if (chosen == 0) {
      Event(ConnectionEvent::kBadHandshake);
      return;
    }
  }

  for (;;) {
    const Deadline idle_until = Clock::now() + options_.idle_timeout;
    IoStatus s =
        fill(kFrameHeaderBytes, buf->empty() ? idle_until : Clock::now() + options_.read_timeout);
    if (s != IoStatus::kOk) {
      if (s == IoStatus::kTimeout) {
        Event(ConnectionEvent::kIdleTimeout);
      } else if (s == IoStatus::kClosed || s == IoStatus::kError) {
        Event(ConnectionEvent::kClientGone);
      }
      return;
    }
    const std::uint32_t len = ReadU32(buf->data());
    if (len == 0) {  // ping
      buf->erase(0, kFrameHeaderBytes);
      if (!WriteReply(fd, std::string_view("\0\0\0\0", 4))) return;
      continue;
    }
    if (len > max) {
      if (telemetry_ != nullptr) telemetry_->RecordRefused(Protocol::kFramed, Outcome::kTooLarge);
      return error_frame(fmt::format(
          "a request of {} bytes exceeds the limit of {} bytes (--max-request-bytes)", len, max));
    }
    s = fill(kFrameHeaderBytes + len, Clock::now() + options_.read_timeout);
    if (s != IoStatus::kOk) {
      if (s == IoStatus::kTimeout) {
        if (telemetry_ != nullptr) telemetry_->RecordRefused(Protocol::kFramed, Outcome::kTimeout);
        error_frame(fmt::format("timed out: the {}-byte request did not arrive within {} ms", len,
                                options_.read_timeout.count()));
      } else if (s == IoStatus::kClosed || s == IoStatus::kError || s == IoStatus::kEof) {
        Event(ConnectionEvent::kClientGone);
      }
      return;
    }
    const auto start = Clock::now();
    reply->clear();
    reply->resize(kFrameHeaderBytes);
    const std::string_view payload(buf->data() + kFrameHeaderBytes, len);
    // Version 2 also takes binary payloads, told apart by their first byte ('{' starts JSON).
    const bool binary = chosen >= kFramedVersionBinary &&
                        static_cast<std::uint8_t>(payload[0]) == kBinaryRequestTag;
    const Outcome outcome =
        binary ? handler_->HandleBinary(payload, reply) : handler_->Handle(payload, reply);
    std::string header;
    AppendU32(static_cast<std::uint32_t>(reply->size() - kFrameHeaderBytes), &header);
    reply->replace(0, kFrameHeaderBytes, header);
    const bool written = WriteReply(fd, *reply);
    if (telemetry_ != nullptr) {
      telemetry_->RecordRequest(Protocol::kFramed, outcome, Clock::now() - start);
    }
    if (!written) return;
    buf->erase(0, kFrameHeaderBytes + len);
    if (stopping_.load()) return;
  }
}

}  // namespace wattson::estimator
