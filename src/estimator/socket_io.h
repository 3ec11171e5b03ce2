// Unix stream socket I/O with deadlines, shared by the estimator server and its clients: every
// read and write is non-blocking with poll() up to a deadline, writes never raise SIGPIPE
// (MSG_NOSIGNAL) and always finish or fail, and a "wake" descriptor lets a server abandon a wait
// at shutdown. Also the framed protocol's byte layout (docs/estimator-protocol.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace wattson::estimator {

using Deadline = std::chrono::steady_clock::time_point;

enum class IoStatus {
  kOk,
  kEof,      // the peer closed its side (reads only)
  kTimeout,  // the deadline passed
  kStopped,  // the wake descriptor became readable
  kClosed,   // EPIPE / ECONNRESET: the peer is gone
  kError,    // another errno
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  std::size_t bytes = 0;
  int error = 0;  // errno for kError
};

// Reads at least one byte (up to cap) unless the deadline passes, the peer closes, or wake_fd
// (if >= 0) becomes readable. fd must be non-blocking. With spin > 0, a read that finds no data
// first retries recv() with a CPU pause between tries for up to `spin` (busy-poll: the thread
// stays on its CPU, so data arriving then is taken without a wake-up), then blocks in poll();
// wake_fd is only watched while blocked, so a stop is noticed at most `spin` late.
IoResult ReadSome(int fd, char* buf, std::size_t cap, Deadline deadline, int wake_fd = -1,
                  std::chrono::microseconds spin = std::chrono::microseconds(0));

// One short busy-wait step (the CPU's pause/yield hint, a few times), for bounded spin loops.
void SpinPause();

// Writes all of data before the deadline (partial writes and EAGAIN handled). fd must be
// non-blocking. Wake is not watched: a started reply is finished or times out.
IoResult WriteAll(int fd, std::string_view data, Deadline deadline);

// Connects to a unix socket and returns a non-blocking, close-on-exec descriptor.
Result<int> ConnectUnix(const std::string& path);

// RAII owner of a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Framed protocol: client hello = "WTSN" + u16 min version + u16 max version; server hello =
// "WTSN" + u16 chosen version (0: none) + u16 status (0 ok, 1 no common version), then one frame
// with a JSON description. Every frame = u32 payload length + payload. All integers of the framing
// are big-endian. Version 1: JSON payloads. Version 2: also binary payloads (binary_codec.h).
inline constexpr std::string_view kFramedMagic = "WTSN";
inline constexpr std::uint16_t kFramedVersionMin = 1;
inline constexpr std::uint16_t kFramedVersionMax = 2;
inline constexpr std::uint16_t kFramedVersionBinary = 2;  // the first with binary payloads
inline constexpr std::size_t kHelloBytes = 8;
inline constexpr std::size_t kFrameHeaderBytes = 4;

void AppendU16(std::uint16_t v, std::string* out);
void AppendU32(std::uint32_t v, std::string* out);
std::uint16_t ReadU16(const char* p);
std::uint32_t ReadU32(const char* p);
std::string ClientHello(std::uint16_t min_version = kFramedVersionMin,
                        std::uint16_t max_version = kFramedVersionMax);

}  // namespace wattson::estimator
