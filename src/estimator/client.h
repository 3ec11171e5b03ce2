// Clients of the estimator socket: Kepler's one-shot exchange (connect, write the JSON request,
// read the reply until the server closes) and wattson's framed protocol on a persistent
// connection. Used by wattson's own agent, the tests, the load driver and the soak driver.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "estimator/socket_io.h"

namespace wattson::estimator {

// Connects, writes request, reads until the server closes. max_reply bounds memory. spin > 0:
// each read busy-polls that long before blocking (ReadSome), trading CPU for wake-up latency.
Result<std::string> KeplerRoundTrip(const std::string& socket_path, std::string_view request,
                                    std::chrono::milliseconds timeout,
                                    std::size_t max_reply = std::size_t{256} << 20,
                                    std::chrono::microseconds spin = std::chrono::microseconds(0));

// One framed-protocol connection. Not thread-safe: one caller at a time.
class FramedClient {
 public:
  // max_version: the highest protocol version offered (2 allows binary payloads).
  static Result<FramedClient> Connect(const std::string& socket_path,
                                      std::chrono::milliseconds timeout,
                                      std::uint16_t max_version = kFramedVersionMax);
  FramedClient(FramedClient&&) = default;
  FramedClient& operator=(FramedClient&&) = default;

  // Sends one request and returns its reply payload (the JSON reply).
  Result<std::string> Call(std::string_view request);
  Status Send(std::string_view request);  // for pipelining: Send, Send, Receive, Receive
  Result<std::string> Receive();
  Status Ping();
  // Each read busy-polls up to `spin` before blocking (ReadSome); 0 (the default) never spins.
  void set_busy_poll(std::chrono::microseconds spin) { spin_ = spin; }

  std::uint16_t version() const { return version_; }
  // The server's hello description (JSON).
  const std::string& hello() const { return hello_; }
  int fd() const { return fd_.get(); }

 private:
  FramedClient(UniqueFd fd, std::chrono::milliseconds timeout)
      : fd_(std::move(fd)), timeout_(timeout) {}
  Status ReadExactly(std::size_t n, std::string* out);
  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::chrono::microseconds spin_{0};
  std::uint16_t version_ = 0;
  std::string hello_;
  std::string pending_;  // bytes read past the last frame
};

}  // namespace wattson::estimator
