#include "estimator/socket_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace wattson::estimator {

namespace {

int RemainingMs(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  // Round up so a wait never ends just before the deadline and spins.
  return static_cast<int>(std::min<std::int64_t>(left.count() + 1, 1 << 30));
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void SpinPause() {
  for (int i = 0; i < 8; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
  }
}

IoResult ReadSome(int fd, char* buf, std::size_t cap, Deadline deadline, int wake_fd,
                  std::chrono::microseconds spin) {
  bool spin_started = false;
  Deadline spin_until{};
  for (;;) {
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n > 0) return {IoStatus::kOk, static_cast<std::size_t>(n), 0};
    if (n == 0) return {IoStatus::kEof, 0, 0};
    if (errno == EINTR) continue;
    if (errno == ECONNRESET || errno == EPIPE) return {IoStatus::kClosed, 0, errno};
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {IoStatus::kError, 0, errno};
    if (spin.count() > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (!spin_started) {
        spin_started = true;
        spin_until = std::min<Deadline>(now + spin, deadline);
      }
      if (now < spin_until) {
        SpinPause();
        continue;
      }
    }
    for (;;) {
      const int ms = RemainingMs(deadline);
      if (ms == 0) return {IoStatus::kTimeout, 0, 0};
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      const int r = ::poll(fds, wake_fd >= 0 ? 2 : 1, ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        return {IoStatus::kError, 0, errno};
      }
      if (r == 0) continue;  // re-check the deadline
      if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0) return {IoStatus::kStopped, 0, 0};
      break;  // readable, or an error/hangup that recv will report
    }
  }
}

IoResult WriteAll(int fd, std::string_view data, Deadline deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return {IoStatus::kClosed, done, errno};
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return {IoStatus::kError, done, errno};
    for (;;) {
      const int ms = RemainingMs(deadline);
      if (ms == 0) return {IoStatus::kTimeout, done, 0};
      pollfd pfd = {fd, POLLOUT, 0};
      const int r = ::poll(&pfd, 1, ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        return {IoStatus::kError, done, errno};
      }
      if (r > 0) break;
    }
  }
  return {IoStatus::kOk, done, 0};
}

Result<int> ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument(fmt::format("socket path too long: {}", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::IoError(fmt::format("socket: {}", std::strerror(errno)));
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    return Status::Unavailable(fmt::format("connect {}: {}", path, std::strerror(errno)));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return Status::IoError(fmt::format("fcntl: {}", std::strerror(errno)));
  }
  return fd.release();
}

void AppendU16(std::uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

void AppendU32(std::uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>((v >> 16) & 0xFF));
  out->push_back(static_cast<char>((v >> 8) & 0xFF));
  out->push_back(static_cast<char>(v & 0xFF));
}

std::uint16_t ReadU16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}

std::uint32_t ReadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

std::string ClientHello(std::uint16_t min_version, std::uint16_t max_version) {
  std::string out(kFramedMagic);
  AppendU16(min_version, &out);
  AppendU16(max_version, &out);
  return out;
}

}  // namespace wattson::estimator
