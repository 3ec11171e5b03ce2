// Binary payloads of the framed protocol, version 2: an estimate request with its rows as raw
// float64 and the reply with raw float64 watts, so wattson's own agent and the server skip JSON
// text both ways (formatting and parsing 100 rows of numbers costs more than predicting them).
// The request carries exactly what a Kepler JSON request does and is checked by the same rules
// (limits, unique names, finite values, output type and source); docs/estimator-protocol.md §2
// gives the byte layout. Decoders check every length against the bytes left before allocating.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "estimator/request.h"
#include "models/types.h"

namespace wattson::estimator {

inline constexpr std::uint8_t kBinaryRequestTag = 0x01;  // first payload byte of a request
inline constexpr std::uint8_t kBinaryReplyTag = 0x81;    // first payload byte of its reply

// What a client sends: the Kepler request fields, by name.
struct BinaryRequest {
  std::vector<std::string> metrics;
  std::size_t rows = 0;
  std::vector<double> values;  // rows × metrics.size(), row-major
  std::string output_type = "AbsPower";
  std::string source;
  std::string trainer_name;
  std::string filter;
  std::vector<std::string> system_features;
  std::vector<std::string> system_values;
};

// Fails (InvalidArgument) only for what cannot be encoded: a string over 65 535 bytes, more than
// 65 535 names, more than 2^32 - 1 rows, or values that are not rows × metrics.
Result<std::string> EncodeBinaryRequest(const BinaryRequest& request);

// Decodes and validates a request payload (its first byte is kBinaryRequestTag). Errors read like
// the JSON parser's and are meant for the reply's message.
Result<EstimateRequest> ParseBinaryRequest(std::string_view payload,
                                           const RequestLimits& limits = {});

// Appends the reply: every component of the prediction in the order of the JSON reply.
void AppendBinaryReply(const PowerPrediction& prediction, std::string* out);
// Appends an error reply (no components) carrying message.
void AppendBinaryErrorReply(std::string_view message, std::string* out);

struct BinaryReply {
  struct Component {
    std::string name;  // "package", "dram", "platform", ...
    std::vector<double> watts;
  };
  std::size_t rows = 0;
  std::vector<Component> components;
  std::string msg;  // empty exactly when the reply carries watts
};

// Decodes a reply payload (client side). A reply with a message is returned as is (msg set).
Result<BinaryReply> ParseBinaryReply(std::string_view payload);

}  // namespace wattson::estimator
