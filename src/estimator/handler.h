// RequestHandler: what the socket server calls with each complete request document. The server
// owns transport (framing, deadlines, limits); the handler owns meaning (parse, model, reply).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wattson::estimator {

// How a request ended, for telemetry.
enum class Outcome {
  kOk,
  kBadRequest,  // malformed JSON, wrong types, ragged rows, NaN/Inf, unknown fields, ...
  kNoModel,     // no model fits the request's features, source and output type
  kModelError,  // the model failed on these rows
  kTooLarge,    // over the request size limit
  kTimeout,     // the request did not arrive in time
  kInternal,
};
inline constexpr std::size_t kOutcomeCount = 7;
std::string_view OutcomeName(Outcome outcome);

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Appends the reply to *reply (always a complete JSON reply, also on error) and says how the
  // request ended. Must be thread-safe and must not throw.
  virtual Outcome Handle(std::string_view request, std::string* reply) = 0;
  // The same for a framed-protocol binary payload (binary_codec.h; the reply is binary too). The
  // default refuses it with a binary error reply.
  virtual Outcome HandleBinary(std::string_view request, std::string* reply);
};

}  // namespace wattson::estimator
