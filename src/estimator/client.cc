#include "estimator/client.h"

#include <cstring>

#include "fmt/format.h"

namespace wattson::estimator {

namespace {

using Clock = std::chrono::steady_clock;

Status IoError(std::string_view what, const IoResult& r) {
  switch (r.status) {
    case IoStatus::kTimeout:
      return Status::Unavailable(fmt::format("{}: timed out", what));
    case IoStatus::kEof:
      return Status::Unavailable(fmt::format("{}: the server closed the connection", what));
    case IoStatus::kClosed:
      return Status::Unavailable(fmt::format("{}: connection reset", what));
    default:
      return Status::IoError(fmt::format("{}: {}", what, std::strerror(r.error)));
  }
}

}  // namespace

Result<std::string> KeplerRoundTrip(const std::string& socket_path, std::string_view request,
                                    std::chrono::milliseconds timeout, std::size_t max_reply,
                                    std::chrono::microseconds spin) {
  WATTSON_ASSIGN_OR_RETURN(int raw, ConnectUnix(socket_path));
  UniqueFd fd(raw);
  const Deadline deadline = Clock::now() + timeout;
  IoResult w = WriteAll(fd.get(), request, deadline);
  std::string reply;
  char buf[16384];
  // A server that refuses a request early may close while we write; its reply is still readable.
  if (w.status != IoStatus::kOk && w.status != IoStatus::kClosed) return IoError("write", w);
  for (;;) {
    IoResult r = ReadSome(fd.get(), buf, sizeof(buf), deadline, -1, spin);
    if (r.status == IoStatus::kOk) {
      reply.append(buf, r.bytes);
      if (reply.size() > max_reply) return Status::OutOfRange("reply too large");
      continue;
    }
    if (r.status == IoStatus::kEof || (r.status == IoStatus::kClosed && !reply.empty())) break;
    return IoError("read", r);
  }
  return reply;
}

Result<FramedClient> FramedClient::Connect(const std::string& socket_path,
                                           std::chrono::milliseconds timeout,
                                           std::uint16_t max_version) {
  WATTSON_ASSIGN_OR_RETURN(int raw, ConnectUnix(socket_path));
  FramedClient client(UniqueFd(raw), timeout);
  const Deadline deadline = Clock::now() + timeout;
  IoResult w = WriteAll(client.fd_.get(), ClientHello(kFramedVersionMin, max_version), deadline);
  if (w.status != IoStatus::kOk) return IoError("hello", w);
  std::string hello;
  WATTSON_RETURN_IF_ERROR(client.ReadExactly(kHelloBytes, &hello));
  if (hello.substr(0, 4) != kFramedMagic) {
    return Status::InvalidArgument("not a wattson estimator (bad hello)");
  }
  client.version_ = ReadU16(hello.data() + 4);
  WATTSON_ASSIGN_OR_RETURN(client.hello_, client.Receive());
  if (client.version_ == 0) {
    return Status::FailedPrecondition(
        fmt::format("the estimator speaks no common protocol version: {}", client.hello_));
  }
  return client;
}

Status FramedClient::ReadExactly(std::size_t n, std::string* out) {
  const Deadline deadline = Clock::now() + timeout_;
  char buf[65536];
  while (pending_.size() < n) {
    IoResult r = ReadSome(fd_.get(), buf, sizeof(buf), deadline, -1, spin_);
    if (r.status != IoStatus::kOk) return IoError("read", r);
    pending_.append(buf, r.bytes);
  }
  out->assign(pending_, 0, n);
  pending_.erase(0, n);
  return Status::Ok();
}

Status FramedClient::Send(std::string_view request) {
  std::string frame;
  frame.reserve(request.size() + kFrameHeaderBytes);
  AppendU32(static_cast<std::uint32_t>(request.size()), &frame);
  frame.append(request);
  IoResult w = WriteAll(fd_.get(), frame, Clock::now() + timeout_);
  if (w.status != IoStatus::kOk) return IoError("write", w);
  return Status::Ok();
}

Result<std::string> FramedClient::Receive() {
  std::string header;
  WATTSON_RETURN_IF_ERROR(ReadExactly(kFrameHeaderBytes, &header));
  const std::uint32_t len = ReadU32(header.data());
  std::string payload;
  WATTSON_RETURN_IF_ERROR(ReadExactly(len, &payload));
  return payload;
}

Result<std::string> FramedClient::Call(std::string_view request) {
  WATTSON_RETURN_IF_ERROR(Send(request));
  return Receive();
}

Status FramedClient::Ping() {
  WATTSON_RETURN_IF_ERROR(Send(std::string_view()));
  WATTSON_ASSIGN_OR_RETURN(std::string pong, Receive());
  if (!pong.empty()) return Status::Internal("ping: unexpected reply payload");
  return Status::Ok();
}

}  // namespace wattson::estimator
